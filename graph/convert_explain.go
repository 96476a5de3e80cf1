package graph

import (
	"context"

	"github.com/ltc-analytics/ltc/graph/model"
)

// explainChange answers explainChange: the scope's groupBy names the dimensions to split by.
func (r *Resolver) explainChange(ctx context.Context, name string, in model.ScopeInput) (*model.ChangeExplanation, error) {
	e, s, err := r.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	x, err := e.ExplainChange(ctx, name, s, s.GroupBy)
	if err != nil {
		return nil, err
	}
	out := &model.ChangeExplanation{Kpi: x.KPI, Value: kpiValue(x.Value), Splits: make([]*model.ChangeSplit, len(x.Splits))}
	for i, sp := range x.Splits {
		ms := &model.ChangeSplit{Name: sp.Dimension, Mix: sp.Mix, Rate: sp.Rate, Contributions: make([]*model.ChangeContribution, len(sp.Contributions))}
		if d, ok := dimensionEnum[sp.Dimension]; ok {
			ms.Dimension = &d
		}
		for j, c := range sp.Contributions {
			ms.Contributions[j] = &model.ChangeContribution{Value: c.Value, Current: c.Current, Previous: c.Previous,
				N: int(c.N), PreviousN: int(c.PreviousN), Weight: c.Weight, PreviousWeight: c.PreviousWeight,
				Mix: c.Mix, Rate: c.Rate, Total: c.Total, Median: c.Median, PreviousMedian: c.PreviousMedian}
		}
		out.Splits[i] = ms
	}
	return out, nil
}
