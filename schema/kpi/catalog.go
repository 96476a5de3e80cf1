package kpi

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ltc-analytics/ltc/schema"
)

// Unit is what a KPI's value measures.
type Unit string

// The units of KPI values.
const (
	UnitRatio Unit = "ratio" // a share 0..1
	UnitDays  Unit = "days"  // a duration in days
	UnitCount Unit = "count" // a number of things
	UnitMoney Unit = "money" // an amount in the source currency, summed as stored
)

// Direction says which way a KPI is better.
type Direction string

// The directions of KPIs.
const (
	HigherIsBetter Direction = "higher"
	LowerIsBetter  Direction = "lower"
	// Neutral KPIs (volumes, shares that sum to 1) are not better either way.
	Neutral Direction = "neutral"
)

// KPI is the one declaration of a KPI (DESIGN §5): the API's descriptions, the Prometheus help
// texts, the dashboards' labels, units and colours and the README's KPI table read it, and tests
// tie each of them to it. Each family file declares its KPIs next to its SQL; Catalog lists them.
type KPI struct {
	// Name is the stable id (snake_case); gauges, dashboards and initiatives use it.
	Name  string `json:"name"`
	Title string `json:"title"`
	Unit  Unit   `json:"unit"`
	// Direction: which way is better; progress, colours and alerts follow it.
	Direction Direction `json:"direction"`
	// RangeOn is the timestamp the scope's time range applies to.
	RangeOn string `json:"rangeOn"`
	// Over is what n counts.
	Over       string `json:"over"`
	Definition string `json:"definition"`
	// Section is where DESIGN defines it (e.g. "5.2").
	Section string `json:"section"`
	// Milestones the model must mark for the KPI to be served (NOT_CONFIGURED otherwise).
	Milestones []schema.Milestone `json:"milestones"`
	// Fields are the GraphQL fields ("Type.field") that return the KPI.
	Fields []string `json:"fields"`
	// Maturity, when set, is one sentence saying why the value of a recent period is not final
	// (DESIGN §5, reading a number honestly): the KPI counts an outcome that can happen after the
	// timestamp its range applies to (a cohort by case start, lead creation or invoice issue, or a
	// stage that can still repeat), so a case's contribution changes as it goes on, and the previous
	// period, one period length older, has had longer to mature than the current one. Dashboards show
	// it beside every previous-period comparison of the KPI. Empty when the value is final once its
	// period has ended: the range applies to the outcome itself (cycle times and the value stream on
	// the cycle's end event, win rate and won value on closing, promise kept on acceptance) or the
	// value is taken as of the period end (receivables, DSO, ageing).
	Maturity string `json:"maturity,omitempty"`
}

// Catalog returns every KPI, by family in the order of DESIGN §5.
func Catalog() []KPI {
	return slices.Concat(funnelKPIs, conversionKPIs, wonValueKPIs, cycleKPIs, valueStreamKPIs,
		adoptionKPIs, complianceKPIs, cashKPIs)
}

// LookupKPI returns the KPI with the given name.
func LookupKPI(name string) (KPI, bool) {
	for _, k := range Catalog() {
		if k.Name == name {
			return k, true
		}
	}
	return KPI{}, false
}

// Missing returns the milestones k needs that the engine's model does not mark.
func (e *Engine) Missing(k KPI) []schema.Milestone {
	var out []schema.Milestone
	for _, m := range k.Milestones {
		if e.model.MilestonePosition(m) < 0 {
			out = append(out, m)
		}
	}
	return out
}

// DimensionCounts returns, per dimension of the engine (Dimensions), the number of distinct non-empty
// values among the cases the context's row scope may see.
func (e *Engine) DimensionCounts(ctx context.Context) (map[string]int64, error) {
	return cached(ctx, e, "dimensionCounts", "", func(ctx context.Context) (map[string]int64, error) {
		b := &sqlBuilder{}
		b.add("SELECT 0")
		for _, d := range e.dimNames {
			b.add(", count(DISTINCT NULLIF(" + e.dimCol[d] + ", ''))")
		}
		r, rargs := rowSQL(ctx)
		b.add(" FROM kpi_case c WHERE true"+r, rargs...)
		vals := make([]int64, len(e.dimNames))
		dest := []any{new(int)}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := e.db.Read.QueryRowContext(ctx, b.sb.String(), b.args...).Scan(dest...); err != nil {
			return nil, fmt.Errorf("kpi.DimensionCounts: %w", err)
		}
		out := make(map[string]int64, len(vals))
		for i, d := range e.dimNames {
			out[d] = vals[i]
		}
		return out, nil
	})
}

// Unserved lists, one line each, the KPIs the engine's model cannot serve and why (ltc check
// prints them as warnings): the catalog's KPIs whose milestones the model does not mark,
// iron-triangle coverage without iron_triangle_after, and compliance without any gate.
func (e *Engine) Unserved() []string {
	var out []string
	for _, k := range Catalog() {
		if ms := e.Missing(k); len(ms) > 0 {
			out = append(out, fmt.Sprintf("%s (%s) answers NOT_CONFIGURED: the process model marks no stage as milestone %s",
				k.Title, k.Name, strings.Join(schema.MilestoneStrings(ms), ", ")))
		}
	}
	if e.IronTriangleConfigured() != nil {
		out = append(out, "Iron-triangle coverage (iron_triangle_coverage) answers NOT_CONFIGURED: the process model has no iron_triangle_after stage")
	}
	if len(e.gates) == 0 {
		out = append(out, "Process and gate compliance (compliance, gate_compliance) have nothing to measure: the process model has no gate")
	}
	return out
}

// UnknownValue is a filter value no case in the row scope has.
type UnknownValue struct {
	Dimension, Value string
	// Known lists the dimension's values (at most 20, then "…").
	Known string
}

// UnknownValues returns the filter values that no case the context's row scope may see has, in
// dimension order, so the API can say why a result is empty.
func (e *Engine) UnknownValues(ctx context.Context, filters map[string][]string) ([]UnknownValue, error) {
	var out []UnknownValue
	for _, d := range e.dimNames {
		vs := filters[d]
		if len(vs) == 0 {
			continue
		}
		known, err := e.dimensionValues(ctx, d)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if _, ok := slices.BinarySearch(known, v); !ok {
				list := known
				if len(list) > 20 {
					list = append(slices.Clone(list[:20]), "…")
				}
				out = append(out, UnknownValue{Dimension: d, Value: v, Known: strings.Join(list, ", ")})
			}
		}
	}
	return out, nil
}

// DimensionValues returns the sorted distinct non-empty values of dimension d (one of Dimensions)
// among the cases the context's row scope may see; an unknown d is ErrBadScope.
func (e *Engine) DimensionValues(ctx context.Context, d string) ([]string, error) {
	if _, ok := e.dimCol[d]; !ok {
		return nil, fmt.Errorf("%w: unknown dimension %q (want one of %s)", ErrBadScope, d, strings.Join(e.dimNames, ", "))
	}
	vs, err := e.dimensionValues(ctx, d)
	if err != nil {
		return nil, err
	}
	if len(vs) > 0 && vs[0] == "" { // sorted: the empty value (no value recorded) comes first
		vs = vs[1:]
	}
	return slices.Clone(vs), nil
}

// dimensionValues returns the sorted distinct values of dimension d among the cases of the
// context's row scope. d must be one of the engine's dimensions.
func (e *Engine) dimensionValues(ctx context.Context, d string) ([]string, error) {
	return cached(ctx, e, "dimensionValues", d, func(ctx context.Context) ([]string, error) {
		r, rargs := rowSQL(ctx)
		rows, err := e.db.Read.QueryContext(ctx, "SELECT DISTINCT coalesce("+e.dimCol[d]+", '') AS v FROM kpi_case c WHERE true"+r+" ORDER BY v", rargs...)
		if err != nil {
			return nil, fmt.Errorf("kpi.dimensionValues(%s): %w", d, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return nil, fmt.Errorf("kpi.dimensionValues(%s): %w", d, err)
			}
			out = append(out, v)
		}
		return out, rows.Err()
	})
}
