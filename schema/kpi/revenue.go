package kpi

import (
	"context"
	"fmt"
)

// wonValueKPIs is the won value.
var wonValueKPIs = []KPI{
	{Name: "won_value", Title: "Won value", Unit: UnitMoney, Direction: HigherIsBetter, Section: "5.2",
		RangeOn: "the opportunity's closed_at", Over: "deals won",
		Definition: "sum of the amounts of the opportunities won, in the source currency as stored",
		Fields:     []string{"Query.wonValue", "Diagnosis.wonValue"}},
}

// wonCases is kpi_case with each case's opportunity amount: a constant table expression for aggQuery.
const wonCases = "(SELECT k.*, CAST(o.amount AS DOUBLE) AS amount FROM kpi_case k JOIN opportunities o ON o.opportunity_id = k.case_id)"

// WonValue returns the sum of the amounts of the opportunities won, for those closed in the scope
// (N: deals won; an amount without a value counts as 0). Amounts are summed as stored, with no
// currency conversion.
func (e *Engine) WonValue(ctx context.Context, s Scope) (*Breakdown[Value], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	return cached(ctx, e, "wonValue", s.key(), func(ctx context.Context) (*Breakdown[Value], error) {
		q := aggQuery{table: wonCases, ts: "c.closed_at", where: "c.status = 'won'",
			aggs: []string{"count(*)", "coalesce(sum(c.amount), 0)"}}
		bd, err := each(ctx, e, s, q, func(cur, prev cell) Value {
			return pair(count(cur[1], int64(cur[0])), count(prev[1], int64(prev[0])))
		})
		if err != nil {
			return nil, fmt.Errorf("kpi.WonValue: %w", err)
		}
		return bd, nil
	})
}
