package kpi

import (
	"context"
	"fmt"
)

// adoptionKPIs are process adoption's KPIs (DESIGN §5.5).
var adoptionKPIs = []KPI{
	{Name: "adoption", Title: "Process adoption", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases with a staged event",
		Definition: "cases that recorded every non-gate stage expected on their branch up to the furthest stage reached / cases",
		Fields:     []string{"Adoption.rate"}},
	{Name: "adoption_coverage", Title: "Stage coverage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases with a staged event",
		Definition: "mean share of the expected stages a case recorded", Fields: []string{"Adoption.coverage"}},
	{Name: "template_adoption", Title: "Template adoption", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "events on stages with a template",
		Definition: "events with template_used / events on stages where a template applies", Fields: []string{"Adoption.template"}},
	{Name: "iron_triangle_coverage", Title: "Iron-triangle coverage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.5",
		RangeOn: "case start (first event of any tier)", Over: "cases past the model's iron_triangle_after stage",
		Definition: "cases with sales, solution and delivery all assigned / cases past the stage the team is due after",
		Fields:     []string{"Adoption.ironTriangle"}},
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

// The adoption aggregates over kpi_case, in the order of adoptionAggs.
const (
	adCases        = iota // cases with at least one expected stage
	adAdopted             // of those, cases that recorded every expected stage
	adCoverage            // mean share of the expected stages recorded
	adTmplEvents          // events on stages where a template applies
	adTmplUsed            // of those, events with a template used
	adTeamDue             // cases past the iron_triangle_after stage
	adTeamComplete        // of those, cases with sales, solution and delivery assigned
)

var adoptionAggs = [...]string{
	adCases:        "count(*) FILTER (WHERE c.expected_n > 0)",
	adAdopted:      "count(*) FILTER (WHERE c.expected_n > 0 AND c.recorded_n = c.expected_n)",
	adCoverage:     "avg(c.recorded_n / c.expected_n) FILTER (WHERE c.expected_n > 0)",
	adTmplEvents:   "sum(c.tmpl_n)",
	adTmplUsed:     "sum(c.tmpl_used)",
	adTeamDue:      "count(*) FILTER (WHERE c.team_due)",
	adTeamComplete: "count(*) FILTER (WHERE c.team_due AND c.roles_n >= 3)",
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
		// The aggregates, read back by name (their position in adoptionAggs).
		q := aggQuery{table: "kpi_case", ts: "c.started_at", aggs: adoptionAggs[:]}
		if e.adoptBit != 0 {
			q.where, q.whereArgs = "c.reached & ? <> 0", []any{e.adoptBit}
		}
		bd, err := each(ctx, e, s, q, func(cur, prev cell) Adoption {
			r := func(num, den int) Value {
				return pair(proportion(cur[num], cur[den]), proportion(prev[num], prev[den]))
			}
			return Adoption{
				Rate:         r(adAdopted, adCases),
				Coverage:     pair(stat(cur[adCoverage], int64(cur[adCases])), stat(prev[adCoverage], int64(prev[adCases]))),
				Template:     r(adTmplUsed, adTmplEvents),
				IronTriangle: r(adTeamComplete, adTeamDue),
			}
		})
		if err != nil {
			return nil, fmt.Errorf("kpi.Adoption: %w", err)
		}
		return bd, nil
	})
}
