package kpi

import (
	"context"
	"fmt"
)

// funnelKPIs are the funnel's KPIs (DESIGN §5.1), per stage of the model.
var funnelKPIs = []KPI{
	{Name: "stage_reached", Title: "Cases reaching the stage", Unit: UnitCount, Direction: Neutral, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases started",
		Definition: "cases with at least one event of the stage", Fields: []string{"FunnelStage.reached"}},
	{Name: "stage_conversion", Title: "Conversion from the previous stage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases reaching the previous stage",
		Definition: "cases reaching the stage / cases reaching the previous stage of their branch", Fields: []string{"FunnelStage.fromPrevious"}},
	{Name: "stage_reach", Title: "Reach from the first stage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases reaching the first stage",
		Definition: "cases reaching the stage / cases reaching the first stage", Fields: []string{"FunnelStage.fromTop"}},
}

// conversionKPIs are lead conversion and win rate (DESIGN §5.2).
var conversionKPIs = []KPI{
	{Name: "lead_conversion", Title: "Lead conversion", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.2",
		RangeOn: "the lead's created_at", Over: "leads created",
		Definition: "leads converted (with an opportunity, a converted_at, or the status converted) / leads created",
		Fields:     []string{"Query.leadConversion", "Diagnosis.leadConversion"}},
	{Name: "win_rate", Title: "Win rate", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.2",
		RangeOn: "the opportunity's closed_at", Over: "deals closed won or lost",
		Definition: "opportunities won / (won + lost)", Fields: []string{"Query.winRate", "Diagnosis.winRate"}},
}

// FunnelStage is one stage of the funnel (DESIGN §5.1).
type FunnelStage struct {
	Stage string `json:"stage"`
	// Reached counts the cohort's cases with at least one event of the stage (N: cases in the cohort).
	Reached Value `json:"reached"`
	// FromPrevious is Reached / Reached of the previous listed stage (for the first stage: of itself).
	// Stages skipped on a branch can make it exceed 1; group by branch to read branch paths.
	FromPrevious Value `json:"fromPrevious"`
	// FromTop is Reached / Reached of the first stage.
	FromTop Value `json:"fromTop"`
}

// Funnel is the stage reach of a cohort of cases, in model order.
type Funnel struct {
	Stages []FunnelStage `json:"stages"`
}

// Funnel returns stage reach and conversion for the cases that started (first event of any tier)
// in the scope. With windowDays, only events within that many days of the case start count.
func (e *Engine) Funnel(ctx context.Context, s Scope, windowDays *int) (*Breakdown[Funnel], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	w := -1
	if windowDays != nil {
		if *windowDays <= 0 {
			return nil, fmt.Errorf("%w: window must be positive, got %d days", ErrBadScope, *windowDays)
		}
		w = *windowDays
	}
	return cached(ctx, e, "funnel", fmt.Sprintf("%s|%d", s.key(), w), func(ctx context.Context) (*Breakdown[Funnel], error) {
		return e.funnel(ctx, s, w)
	})
}

func (e *Engine) funnel(ctx context.Context, s Scope, window int) (*Breakdown[Funnel], error) {
	var bd *Breakdown[Funnel]
	var err error
	if window < 0 {
		// Reach is a bit of kpi_case.reached: one scan of the cohort, no per-stage rows.
		q := aggQuery{table: "kpi_case", ts: "c.started_at", aggs: []string{"count(*)"}}
		for i := range e.model.Stages {
			q.aggs = append(q.aggs, fmt.Sprintf("count(*) FILTER (WHERE c.reached & %s <> 0)", bit(i)))
		}
		bd, err = each(ctx, e, s, q, e.funnelOf)
	} else {
		// Reach within the window needs each stage's first event: the cohort's kpi_case_stage rows,
		// grouped by stage.
		top := aggQuery{table: "kpi_case", ts: "c.started_at", aggs: []string{"count(*)"}}
		keyed := []aggQuery{
			{from: "kpi_case_stage s JOIN kpi_case c ON c.case_id = s.case_id", sel: "c.*, s.stage_pos, s.first_at",
				ts: "c.started_at", key: "s.stage_pos", where: "s.first_at <= c.started_at + to_days(CAST(? AS INTEGER))",
				whereArgs: []any{window}, aggs: []string{"count(*)"}},
		}
		bd, err = perStage(ctx, e, s, top, keyed, e.funnelOf)
	}
	if err != nil {
		return nil, fmt.Errorf("kpi.Funnel: %w", err)
	}
	return bd, nil
}

// funnelOf builds a Funnel from cells holding the cohort's cases and each stage's reach, in order.
func (e *Engine) funnelOf(cur, prev cell) Funnel {
	f := Funnel{Stages: make([]FunnelStage, len(e.model.Stages))}
	for i, st := range e.model.Stages {
		r, pr := cur[i+1], prev[i+1]
		top, ptop := cur[1], prev[1]
		before, pbefore := r, pr
		if i > 0 {
			before, pbefore = cur[i], prev[i]
		}
		f.Stages[i] = FunnelStage{
			Stage:        st.ID,
			Reached:      pair(count(r, int64(cur[0])), count(pr, int64(prev[0]))),
			FromPrevious: pair(ratio(r, before, int64(before)), ratio(pr, pbefore, int64(pbefore))),
			FromTop:      pair(ratio(r, top, int64(top)), ratio(pr, ptop, int64(ptop))),
		}
	}
	return f
}

// LeadConversion returns leads converted to an opportunity / leads created, for the leads created
// in the scope (N: leads created).
func (e *Engine) LeadConversion(ctx context.Context, s Scope) (*Breakdown[Value], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	return cached(ctx, e, "leadConversion", s.key(), func(ctx context.Context) (*Breakdown[Value], error) {
		q := aggQuery{table: "kpi_lead", ts: "c.created_at", aggs: []string{"count(*)", "count(*) FILTER (WHERE c.converted)"}}
		bd, err := each(ctx, e, s, q, rate)
		if err != nil {
			return nil, fmt.Errorf("kpi.LeadConversion: %w", err)
		}
		return bd, nil
	})
}

// WinRate returns won / (won + lost) for the opportunities closed in the scope (N: won + lost).
func (e *Engine) WinRate(ctx context.Context, s Scope) (*Breakdown[Value], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	return cached(ctx, e, "winRate", s.key(), func(ctx context.Context) (*Breakdown[Value], error) {
		q := aggQuery{table: "kpi_case", ts: "c.closed_at", where: "c.status IN ('won', 'lost')",
			aggs: []string{"count(*)", "count(*) FILTER (WHERE c.status = 'won')"}}
		bd, err := each(ctx, e, s, q, rate)
		if err != nil {
			return nil, fmt.Errorf("kpi.WinRate: %w", err)
		}
		return bd, nil
	})
}

// rate builds a Value from cells holding (denominator, numerator).
func rate(cur, prev cell) Value {
	return pair(ratio(cur[1], cur[0], int64(cur[0])), ratio(prev[1], prev[0], int64(prev[0])))
}
