package graph

import (
	"context"
	"strings"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// maxDimensionValues caps DimensionInfo.values.
const maxDimensionValues = 1000

// catalog converts the engine's semantic model: its KPI catalog, the dimensions with their
// distinct-value counts in the caller's row scope, and the process model.
func catalog(ctx context.Context, e *kpi.Engine) (*model.Catalog, error) {
	counts, err := e.DimensionCounts(ctx)
	if err != nil {
		return nil, err
	}
	out := &model.Catalog{}
	for _, k := range kpi.Catalog() {
		out.Kpis = append(out.Kpis, &model.KpiDefinition{
			Name: k.Name, Title: k.Title, Unit: model.KpiUnit(strings.ToUpper(string(k.Unit))),
			Direction: model.KpiDirection(strings.ToUpper(string(k.Direction))), RangeOn: k.RangeOn, Over: k.Over,
			Definition: k.Definition, Section: k.Section, Milestones: schema.MilestoneStrings(k.Milestones),
			MissingMilestones: schema.MilestoneStrings(e.Missing(k)), Fields: k.Fields, Maturity: nonEmpty(k.Maturity),
		})
	}
	for _, d := range e.Dimensions() {
		out.Dimensions = append(out.Dimensions, &model.DimensionInfo{Name: d.Name, Dimension: dimensionEnumOf(d.Name),
			Custom: d.Attribute != "", Attribute: nonEmpty(d.Attribute),
			Title: d.Title, Description: d.Description, DistinctValues: int(counts[d.Name])})
	}
	m := e.Model()
	for _, s := range m.Stages {
		st := &model.StageInfo{ID: s.ID, Name: s.Title(), Tier: string(s.Tier), Repeatable: s.Repeatable,
			Branches: nonNil(s.Branches), Activities: nonNil(s.Activities)}
		if s.Milestone != "" {
			st.Milestone = ptr(string(s.Milestone))
		}
		if s.Gate != nil {
			st.Guards = ptr(s.Gate.Guards)
			guarded, _ := m.Stage(s.Gate.Guards)
			out.Gates = append(out.Gates, &model.GateInfo{ID: s.ID, Name: s.Title(), Guards: s.Gate.Guards,
				GuardsName: guarded.Title(), Branches: nonNil(s.Branches)})
		}
		out.Stages = append(out.Stages, st)
	}
	for _, ms := range schema.Milestones {
		mi := &model.MilestoneInfo{Name: string(ms)}
		if id, ok := m.MilestoneStage(ms); ok {
			mi.Stage = ptr(id)
		}
		out.Milestones = append(out.Milestones, mi)
	}
	return out, nil
}
