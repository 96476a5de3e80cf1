package kpi

import (
	"context"
	"fmt"
)

// adoptionMaturity is adoption's maturity note (KPI.Maturity): a case is measured up to the furthest
// stage it has reached so far.
const adoptionMaturity = "cases started in the period have yet to reach their later stages, where a skipped stage counts against them: the previous period's cases have had one period longer"

// adoptionKPIs are process adoption's KPIs (DESIGN §5.5).
var adoptionKPIs = []KPI{
	{Name: "adoption", Title: "Process adoption", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases with a staged event",
		Definition: "cases that recorded every non-gate stage expected on their branch up to the furthest stage reached / cases",
		Fields:     []string{"Adoption.rate"}, Maturity: adoptionMaturity},
	{Name: "adoption_coverage", Title: "Stage coverage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases with a staged event",
		Definition: "mean share of the expected stages a case recorded", Fields: []string{"Adoption.coverage"},
		Maturity: adoptionMaturity},
	{Name: "template_adoption", Title: "Template adoption", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "events on stages with a template",
		Definition: "events with template_used / events on stages where a template applies", Fields: []string{"Adoption.template"},
		Maturity: "cases started in the period have yet to record their later events on template stages: the previous period's cases have had one period longer"},
	{Name: "iron_triangle_coverage", Title: "Iron-triangle coverage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases past the model's iron_triangle_after stage",
		Definition: "cases with sales, solution and delivery all assigned / cases past the stage the team is due after",
		Fields:     []string{"Adoption.ironTriangle"},
		Maturity:   "cases started in the period have yet to pass the stage the team is due after and to have every role assigned: the previous period's cases have had one period longer"},
}

// Adoption is process adoption (DESIGN §5.5) for a cohort of cases.
type Adoption struct {
	// Rate is the share of cases that recorded every non-gate stage expected on their branch up to
	// the furthest stage they reached (N: cases with at least one staged event).
	Rate Value `json:"rate"`
	// Coverage is the mean share of those expected stages recorded.
	Coverage Value `json:"coverage"`
	// Template is events with template_used / events on stages whose model says `template: true`
	// (N: such events).
	Template Value `json:"template"`
	// IronTriangle is the share of cases past the model's iron_triangle_after stage (furthest stage
	// after it in process order) with all three roles (sales, solution, delivery) assigned (N: cases
	// past that stage). It reads zero when the model names no such stage; IronTriangleConfigured
	// says so.
	IronTriangle Value `json:"ironTriangle"`
}

// adoptionRow is one row of adoption's aggregates over kpi_case (one period, group or bucket),
// read by name.
type adoptionRow struct {
	cases        float64 // cases with at least one expected stage
	adopted      float64 // of those, cases that recorded every expected stage
	coverage     float64 // mean share of the expected stages recorded
	tmplEvents   float64 // events on stages where a template applies
	tmplUsed     float64 // of those, events with a template used
	teamDue      float64 // cases past the iron_triangle_after stage
	teamComplete float64 // of those, cases with sales, solution and delivery assigned
}

// adoptionAgg pairs an aggregate's SQL with the field of adoptionRow it fills.
type adoptionAgg struct {
	sql   string
	field func(*adoptionRow) *float64
}

// adoptionAggs are adoption's aggregates: the query selects them in this order and adoptionOf
// reads each back into its named field, so the SQL and the field it lands in are declared together.
var adoptionAggs = []adoptionAgg{
	{"count(*) FILTER (WHERE c.expected_n > 0)", func(r *adoptionRow) *float64 { return &r.cases }},
	{"count(*) FILTER (WHERE c.expected_n > 0 AND c.recorded_n = c.expected_n)", func(r *adoptionRow) *float64 { return &r.adopted }},
	{"avg(c.recorded_n / c.expected_n) FILTER (WHERE c.expected_n > 0)", func(r *adoptionRow) *float64 { return &r.coverage }},
	{"sum(c.tmpl_n)", func(r *adoptionRow) *float64 { return &r.tmplEvents }},
	{"sum(c.tmpl_used)", func(r *adoptionRow) *float64 { return &r.tmplUsed }},
	{"count(*) FILTER (WHERE c.team_due)", func(r *adoptionRow) *float64 { return &r.teamDue }},
	{"count(*) FILTER (WHERE c.team_due AND c.roles_n >= 3)", func(r *adoptionRow) *float64 { return &r.teamComplete }},
}

// adoptionSQL returns the aggregates' SQL in adoptionAggs order.
func adoptionSQL() []string {
	out := make([]string, len(adoptionAggs))
	for i, a := range adoptionAggs {
		out[i] = a.sql
	}
	return out
}

// adoptionOf reads a row of aggregate values (in adoptionAggs order) into its named fields.
func adoptionOf(c cell) adoptionRow {
	var r adoptionRow
	for i, a := range adoptionAggs {
		if i < len(c) {
			*a.field(&r) = c[i]
		}
	}
	return r
}

// IronTriangleConfigured returns nil when the model names the stage after which the iron-triangle
// team is due (iron_triangle_after), else an error wrapping ErrNotConfigured.
func (e *Engine) IronTriangleConfigured() error {
	if e.model.IronTriangleAfter != "" {
		return nil
	}
	return fmt.Errorf("%w: iron-triangle coverage needs the process model's iron_triangle_after (the stage after which sales, solution and delivery must be assigned)", ErrNotConfigured)
}

// Adoption returns process adoption for the cases that started in the scope; with
// Options.AdoptionFrom, only for those of them that reached that stage (every measure, N included).
func (e *Engine) Adoption(ctx context.Context, s Scope) (*Breakdown[Adoption], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if err := e.checkAdoption(); err != nil {
		return nil, fmt.Errorf("kpi.Adoption: %w", err)
	}
	return cached(ctx, e, "adoption", s.key(), func(ctx context.Context) (*Breakdown[Adoption], error) {
		q := aggQuery{table: "kpi_case", ts: "c.started_at", aggs: adoptionSQL()}
		if e.adoptBit != 0 {
			q.where, q.whereArgs = "c.reached & ? <> 0", []any{e.adoptBit}
		}
		bd, err := each(ctx, e, s, q, func(curCell, prevCell cell) Adoption {
			cur, prev := adoptionOf(curCell), adoptionOf(prevCell)
			return Adoption{
				Rate:         pair(proportion(cur.adopted, cur.cases), proportion(prev.adopted, prev.cases)),
				Coverage:     pair(stat(cur.coverage, int64(cur.cases)), stat(prev.coverage, int64(prev.cases))),
				Template:     pair(proportion(cur.tmplUsed, cur.tmplEvents), proportion(prev.tmplUsed, prev.tmplEvents)),
				IronTriangle: pair(proportion(cur.teamComplete, cur.teamDue), proportion(prev.teamComplete, prev.teamDue)),
			}
		})
		if err != nil {
			return nil, fmt.Errorf("kpi.Adoption: %w", err)
		}
		return bd, nil
	})
}
