package kpi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// cycleKPIs are the cycle times (DESIGN §5.3), each with its median, 90th percentile and mean.
var cycleKPIs = []KPI{
	{Name: "sales_cycle", Title: "Sales cycle", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.3",
		RangeOn: "the first won event", Over: "cases won", Milestones: []schema.Milestone{schema.MilestoneWon},
		Definition: "first won − case start (first event of any tier)", Fields: []string{"CycleTimes.sales"}},
	{Name: "delivery_cycle", Title: "Delivery cycle", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.3",
		RangeOn: "the first delivered event", Over: "cases delivered",
		Milestones: []schema.Milestone{schema.MilestoneWon, schema.MilestoneDelivered},
		Definition: "first delivered − first won", Fields: []string{"CycleTimes.delivery"}},
	{Name: "cash_cycle", Title: "Cash cycle", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.3",
		RangeOn: "the first cash_collected event", Over: "cases paid",
		Milestones: []schema.Milestone{schema.MilestoneInvoiced, schema.MilestoneCashCollected},
		Definition: "first cash_collected − first invoiced", Fields: []string{"CycleTimes.cash"}},
	{Name: "lead_to_cash_cycle", Title: "Lead-to-cash cycle", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.3",
		RangeOn: "the first cash_collected event", Over: "cases paid",
		Milestones: []schema.Milestone{schema.MilestoneCashCollected},
		Definition: "first cash_collected − case start (first event of any tier)", Fields: []string{"CycleTimes.leadToCash"}},
}

// Cycle names a measured cycle of DESIGN §5.3.
type Cycle string

// The measured cycles.
const (
	// CycleSales: case start → first won.
	CycleSales Cycle = "sales"
	// CycleDelivery: first won → first delivered.
	CycleDelivery Cycle = "delivery"
	// CycleCash: first invoiced → first cash_collected.
	CycleCash Cycle = "cash"
	// CycleLeadToCash: case start → first cash_collected.
	CycleLeadToCash Cycle = "lead_to_cash"
)

// Cycles returns the measured cycles in process order.
func Cycles() []Cycle { return []Cycle{CycleSales, CycleDelivery, CycleCash, CycleLeadToCash} }

// Valid reports whether c is one of Cycles.
func (c Cycle) Valid() bool {
	_, ok := cycleDefOf(c)
	return ok
}

// cycleDef is the one definition of a cycle (DESIGN §5.3), read by cycle times, the value stream,
// initiatives and Refresh: the cycle runs from the first event of milestone start (the case start
// when "") to the first event of milestone end. startCol and endCol are the kpi_case columns of
// those times for the value stream, whose span starts at the first staged event (personal-tier
// events are dropped, §5.4); cycle times start at the first event of any tier (c.started_at).
// col prefixes kpi_case_stage's columns holding the stage time inside the span.
type cycleDef struct {
	cycle            Cycle
	title            string
	col              string
	start, end       schema.Milestone
	startCol, endCol string
}

// cycleDefs are the cycles in process order.
var cycleDefs = []cycleDef{
	{CycleSales, "sales cycle", "sales", "", schema.MilestoneWon, "c.first_staged_at", "c.won_at"},
	{CycleDelivery, "delivery cycle", "delivery", schema.MilestoneWon, schema.MilestoneDelivered, "c.won_at", "c.delivered_at"},
	{CycleCash, "cash cycle", "cash", schema.MilestoneInvoiced, schema.MilestoneCashCollected, "c.invoiced_at", "c.collected_at"},
	{CycleLeadToCash, "lead-to-cash cycle", "l2c", "", schema.MilestoneCashCollected, "c.first_staged_at", "c.collected_at"},
}

// milestoneColumns are the kpi_case columns holding the first event of each milestone a cycle
// needs (NULL when the case has none or the model does not mark the milestone).
var milestoneColumns = []struct {
	ms  schema.Milestone
	col string
}{
	{schema.MilestoneWon, "won_at"}, {schema.MilestoneDelivered, "delivered_at"},
	{schema.MilestoneInvoiced, "invoiced_at"}, {schema.MilestoneCashCollected, "collected_at"},
}

// cycleTitle names cycle c in text ("sales cycle").
func cycleTitle(c Cycle) string {
	d, _ := cycleDefOf(c)
	return d.title
}

func cycleDefOf(c Cycle) (cycleDef, bool) {
	for _, d := range cycleDefs {
		if d.cycle == c {
			return d, true
		}
	}
	return cycleDef{}, false
}

// CycleConfigured returns nil when the model marks the milestones cycle c needs, else an error
// wrapping ErrNotConfigured that names the missing milestones (an unknown cycle wraps ErrBadScope).
func (e *Engine) CycleConfigured(c Cycle) error {
	d, ok := cycleDefOf(c)
	if !ok {
		return fmt.Errorf("%w: unknown cycle %q", ErrBadScope, c)
	}
	return e.requireMilestones(d.title, d.start, d.end)
}

// requireMilestones returns nil when the model marks every milestone ms ("" is none), else an
// error wrapping ErrNotConfigured that says what needs them.
func (e *Engine) requireMilestones(what string, ms ...schema.Milestone) error {
	var missing []string
	for _, m := range ms {
		if m != "" && e.model.MilestonePosition(m) < 0 {
			missing = append(missing, string(m))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &NotConfiguredError{What: what, Milestones: missing}
}

// Duration summarises a duration in days over N cases (N is in each Value).
type Duration struct {
	P50  Value `json:"p50"`
	P90  Value `json:"p90"`
	Mean Value `json:"mean"`
}

// CycleTimes are the cycle times of DESIGN §5.3, in days. A cycle whose milestones the model does
// not mark reads zero; (*Engine).CycleConfigured says which.
type CycleTimes struct {
	// Sales is first won − case start.
	Sales Duration `json:"sales"`
	// Delivery is first delivered − first won.
	Delivery Duration `json:"delivery"`
	// Cash is first cash_collected − first invoiced.
	Cash Duration `json:"cash"`
	// LeadToCash is first cash_collected − case start.
	LeadToCash Duration `json:"leadToCash"`
}

// CycleTimes returns the cycle times of the cases whose end event (the later of each pair) falls in
// the scope. Percentiles are DuckDB's quantile_cont (linear interpolation between the closest
// ranks); each median carries its order-statistics 95% interval (medianSQL) in Low and High from
// MedianIntervalMinN cases on. Cases whose end precedes their start (out-of-order data) are left
// out. It fails with ErrNotConfigured only when the model marks no cycle's milestones.
func (e *Engine) CycleTimes(ctx context.Context, s Scope) (*Breakdown[CycleTimes], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	var errs []error
	for _, c := range Cycles() {
		if err := e.CycleConfigured(c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(cycleDefs) {
		return nil, fmt.Errorf("kpi.CycleTimes: %w", errs[0])
	}
	return cached(ctx, e, "cycleTimes", s.key(), func(ctx context.Context) (*Breakdown[CycleTimes], error) {
		bd, err := e.cycleTimes(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("kpi.CycleTimes: %w", err)
		}
		return bd, nil
	})
}

func (e *Engine) cycleTimes(ctx context.Context, s Scope) (*Breakdown[CycleTimes], error) {
	// One query over every cycle: each cycle's cases are a branch of a UNION ALL keyed by the cycle's
	// position, so DuckDB pushes each range down to that cycle's end milestone column (a
	// zone-map-pruned scan of kpi_case per branch; NULL when the model lacks the milestone) and runs
	// one aggregation. Four queries, one per cycle, cost about twice the CPU: the fixed cost of an
	// aggregation with quantile and list states outweighs its rows here.
	branches := make([]string, len(cycleDefs))
	for i, c := range cycleDefs {
		start := "c.started_at"
		if c.start != "" {
			start = c.startCol
		}
		branches[i] = fmt.Sprintf("SELECT %d AS _cycle, c.*, %s AS _end, ((epoch_us(%s) - epoch_us(%s)) / 86400e6) AS _days FROM kpi_case c WHERE %s <= %s",
			i, c.endCol, c.endCol, start, start, c.endCol)
	}
	const d = "c._days"
	aggs := append([]string{"count(*)", "quantile_cont(" + d + ", 0.9)", "avg(" + d + ")"}, medianSQL(d)...)
	byCycle, err := e.runKeyed(ctx, s, aggQuery{table: "kpi_case", from: "(" + strings.Join(branches, " UNION ALL ") + ") c",
		key: "c._cycle", ts: "c._end", aggs: aggs})
	if err != nil {
		return nil, err
	}
	rs := make([]*aggResult, len(cycleDefs))
	for i := range rs {
		if rs[i] = byCycle[int64(i)]; rs[i] == nil {
			rs[i] = newResult(len(aggs))
		}
	}
	// Each cycle's cells: n, p90, mean, then medianSQL's three (p50 and its interval's bounds).
	const nCol, p90Col, meanCol, p50Col = 0, 1, 2, 3
	return assemble(e, s, rs, func(cur, prev []cell) CycleTimes {
		dur := func(i int) Duration {
			c, p := cur[i], prev[i]
			n, pn := int64(c[nCol]), int64(p[nCol])
			return Duration{
				P50:  pair(median(c[p50Col:], n), median(p[p50Col:], pn)),
				P90:  pair(stat(c[p90Col], n), stat(p[p90Col], pn)),
				Mean: pair(stat(c[meanCol], n), stat(p[meanCol], pn)),
			}
		}
		return CycleTimes{Sales: dur(0), Delivery: dur(1), Cash: dur(2), LeadToCash: dur(3)}
	})
}

// SalesCycleCase is one case's sales cycle (DESIGN §5.3): first won − case start.
type SalesCycleCase struct {
	BusinessUnit string
	WonAt        time.Time // the first won event
	Days         float64
}

// SalesCycles returns the sales cycle of every case of units whose first won event lies in
// [from, to), read from the derived facts (kpi_case.won_at − started_at, as CycleTimes' sales
// cycle); cases whose win precedes their start are left out, as in CycleTimes. It answers under
// the row scope of ctx, from the result cache, and fails ErrNotConfigured without a won milestone.
func (e *Engine) SalesCycles(ctx context.Context, units []string, from, to time.Time) ([]SalesCycleCase, error) {
	if err := e.CycleConfigured(CycleSales); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%s|%q", timeKey(from), timeKey(to), units)
	out, err := cached(ctx, e, "salesCycles", key, func(ctx context.Context) ([]SalesCycleCase, error) {
		b := &sqlBuilder{}
		b.add(salesCyclesQuery+placeholders(len(units))+")", ts(from), ts(to))
		for _, u := range units {
			b.args = append(b.args, u)
		}
		r, rargs := rowSQL(ctx)
		b.add(r, rargs...)
		rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []SalesCycleCase
		for rows.Next() {
			var c SalesCycleCase
			if err := rows.Scan(&c.BusinessUnit, &c.WonAt, &c.Days); err != nil {
				return nil, err
			}
			c.WonAt = c.WonAt.UTC()
			out = append(out, c)
		}
		return out, rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("kpi.SalesCycles: %w", err)
	}
	return out, nil
}

// salesCyclesQuery selects per-case sales cycles won in [?, ?) of the business units that follow
// (the caller closes the IN list).
const salesCyclesQuery = `SELECT c.business_unit, c.won_at, (epoch_us(c.won_at) - epoch_us(c.started_at)) / 86400e6
FROM kpi_case c
WHERE c.won_at >= CAST(? AS TIMESTAMP) AND c.won_at < CAST(? AS TIMESTAMP) AND c.started_at <= c.won_at
  AND c.business_unit IN (`
