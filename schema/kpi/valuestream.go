package kpi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// StageStream is one stage of the value stream (DESIGN §5.4). Times are in days.
type StageStream struct {
	Stage string `json:"stage"`
	// Share is Σ_c time(c, s) / Σ_c (last − first) over the cohort (N: cases in the cohort).
	Share Value `json:"share"`
	// MedianDays and P90Days are quantile_cont of time(c, s) over the cohort's cases reaching s.
	MedianDays Value `json:"medianDays"`
	P90Days    Value `json:"p90Days"`
	// Rework is cases with ≥ 2 events of s / cases reaching s.
	Rework Value `json:"rework"`
	// Cases counts the cohort's cases reaching s.
	Cases Value `json:"cases"`
}

// ValueStream is where the cycle time goes, for the cases that completed the measured cycle.
type ValueStream struct {
	Stages []StageStream `json:"stages"`
	// Bottleneck is the stage with the largest current share ("" when the cohort is empty).
	Bottleneck string `json:"bottleneck"`
	// Cases counts the cohort.
	Cases Value `json:"cases"`
}

// Cycle names the cycle a value stream measures (DESIGN §5.3, §5.4).
type Cycle string

// The measured cycles.
const (
	// CycleSales: case start → first contract_signed.
	CycleSales Cycle = "sales"
	// CycleDelivery: first contract_signed → first delivery_accepted.
	CycleDelivery Cycle = "delivery"
	// CycleCash: first invoiced → first cash_collected.
	CycleCash Cycle = "cash"
	// CycleLeadToCash: case start → cash collected, measured as ValueStream always has: the cases
	// that reached the model's last stage, over their whole staged span.
	CycleLeadToCash Cycle = "lead_to_cash"
)

// Cycles returns the measured cycles in process order.
func Cycles() []Cycle { return []Cycle{CycleSales, CycleDelivery, CycleCash, CycleLeadToCash} }

// Valid reports whether c is one of Cycles.
func (c Cycle) Valid() bool {
	for _, x := range Cycles() {
		if x == c {
			return true
		}
	}
	return false
}

// cycleDef is how a cycle other than lead-to-cash is measured: its span runs from the first event
// of startStage (the case's first staged event when "") to the first event of endStage; startCol
// and endCol are the kpi_case columns of those times, col the prefix of kpi_case_stage's columns
// holding the stage time inside the span (migration 007).
type cycleDef struct {
	cycle                Cycle
	col                  string
	startStage, endStage string
	startCol, endCol     string
}

// spanCycles are the cycles measured from the in-span columns of kpi_case_stage.
var spanCycles = []cycleDef{
	{CycleSales, "sales", "", "contract_signed", "c.first_staged_at", "c.signed_at"},
	{CycleDelivery, "delivery", "contract_signed", "delivery_accepted", "c.signed_at", "c.accepted_at"},
	{CycleCash, "cash", "invoiced", "cash_collected", "c.invoiced_at", "c.collected_at"},
}

// ValueStream returns the value stream of the cases that completed the measured cycle (reached the
// model's last stage) in the scope, the range applying to their first event of that stage.
// A case's stage events are ordered by (occurred_at, seq) with personal-tier events dropped; each
// event's dwell is the time to the next (the last has none); time(c, s) sums the dwells of s.
// Dwell and per-stage times are materialised by Refresh. It is ValueStreamOf(CycleLeadToCash).
func (e *Engine) ValueStream(ctx context.Context, s Scope) (*Breakdown[ValueStream], error) {
	return e.ValueStreamOf(ctx, s, CycleLeadToCash)
}

// ValueStreamOf returns the value stream of cycle c for the cases that completed it, the range
// applying to the cycle's end event (the first contract_signed for CycleSales, delivery_accepted for
// CycleDelivery, cash_collected for CycleCash). Only the stage time spent inside the case's span
// counts: the dwells of the staged events ordered at or after the cycle's start event (for the
// sales cycle, the case's first staged event) and before its end event, so a case's stage times
// sum to end − start and Share(s) = Σ_c time(c, s) / Σ_c (end − start). A stage counts as reached
// (Cases, MedianDays, Rework) when it has an event inside the span. Cases whose end precedes
// their start are left out, as in CycleTimes. CycleLeadToCash is ValueStream. An unknown cycle is
// an error wrapping ErrBadScope.
func (e *Engine) ValueStreamOf(ctx context.Context, s Scope, c Cycle) (*Breakdown[ValueStream], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if !c.Valid() {
		return nil, fmt.Errorf("%w: unknown cycle %q", ErrBadScope, c)
	}
	name := "valueStream"
	if c != CycleLeadToCash {
		name += ":" + string(c)
	}
	return cached(ctx, e, name, s.key(), func(ctx context.Context) (*Breakdown[ValueStream], error) {
		bd, err := e.valueStream(ctx, s, c)
		if err != nil {
			return nil, fmt.Errorf("kpi.ValueStreamOf(%s): %w", c, err)
		}
		return bd, nil
	})
}

func (e *Engine) valueStream(ctx context.Context, s Scope, cyc Cycle) (*Breakdown[ValueStream], error) {
	// The cohort from kpi_case; per stage, the cohort's kpi_case_stage rows grouped by stage (a
	// case has a row only for the stages it reached).
	t := "(c.time_s / 86400)"
	stageAggs := []string{
		"sum(" + t + ")", "count(*)", "count(*) FILTER (WHERE c.stage_events >= 2)",
		"quantile_cont(" + t + ", 0.5)", "quantile_cont(" + t + ", 0.9)"}
	qs := [2]aggQuery{
		{table: "kpi_case", ts: "c.completed_at", aggs: []string{
			"count(*)", "sum((epoch_us(c.last_staged_at) - epoch_us(c.first_staged_at)) / 86400e6)"}},
		{from: "kpi_case_stage s JOIN kpi_case c ON c.case_id = s.case_id", sel: "c.*, s.stage_pos, s.events AS stage_events, s.time_s",
			ts: "c.completed_at", key: "s.stage_pos", aggs: stageAggs},
	}
	for _, d := range spanCycles {
		if d.cycle != cyc {
			continue
		}
		// Column names and expressions are constants of spanCycles, never input.
		where := d.startCol + " <= " + d.endCol
		qs = [2]aggQuery{
			{table: "kpi_case", ts: d.endCol, where: where, aggs: []string{
				"count(*)", fmt.Sprintf("sum((epoch_us(%s) - epoch_us(%s)) / 86400e6)", d.endCol, d.startCol)}},
			{from: "kpi_case_stage s JOIN kpi_case c ON c.case_id = s.case_id",
				sel: fmt.Sprintf("c.*, s.stage_pos, s.%s_events AS stage_events, s.%s_s AS time_s", d.col, d.col),
				ts:  d.endCol, key: "s.stage_pos", where: fmt.Sprintf("%s AND s.%s_events > 0", where, d.col), aggs: stageAggs},
		}
	}
	return perStage(ctx, e, s, qs, func(cur, prev cell) ValueStream {
		n, pn := int64(cur[0]), int64(prev[0])
		out := ValueStream{Stages: make([]StageStream, len(e.model.Stages)), Cases: pair(count(cur[0], n), count(prev[0], pn))}
		best := -1.0
		for i, st := range e.model.Stages {
			c, p := cur[2+5*i:], prev[2+5*i:]
			rn, prn := int64(c[1]), int64(p[1])
			out.Stages[i] = StageStream{
				Stage:      st.ID,
				Share:      pair(ratio(c[0], cur[1], n), ratio(p[0], prev[1], pn)),
				MedianDays: pair(stat(c[3], rn), stat(p[3], prn)),
				P90Days:    pair(stat(c[4], rn), stat(p[4], prn)),
				Rework:     pair(ratio(c[2], c[1], rn), ratio(p[2], p[1], prn)),
				Cases:      pair(count(c[1], n), count(p[1], pn)),
			}
			if n > 0 && out.Stages[i].Share.Value > best {
				best, out.Bottleneck = out.Stages[i].Share.Value, st.ID
			}
		}
		return out
	})
}

// Variant is a distinct sequence of stages (personal tier dropped) with its cases.
type Variant struct {
	Stages []string `json:"stages"`
	Cases  int64    `json:"cases"`
	// MedianDays is the median of last − first staged event over its cases.
	MedianDays float64 `json:"medianDays"`
}

// Variants is the topN variants of a cohort.
type Variants struct {
	// Distinct counts all variants of the cohort, Cases its cases with at least one staged event.
	Distinct int64     `json:"distinct"`
	Cases    int64     `json:"cases"`
	Top      []Variant `json:"top"`
}

// Variants returns the topN stage sequences (by cases, then sequence) of the cases that started in
// the scope (filters apply; GroupBy, Grain and the previous period do not).
func (e *Engine) Variants(ctx context.Context, s Scope, topN int) (*Variants, error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if err := pageSize(topN); err != nil {
		return nil, err
	}
	return cached(ctx, e, "variants", fmt.Sprintf("%s|%d", s.key(), topN), func(ctx context.Context) (*Variants, error) {
		v, err := e.variants(ctx, s, topN)
		if err != nil {
			return nil, fmt.Errorf("kpi.Variants: %w", err)
		}
		return v, nil
	})
}

func (e *Engine) variants(ctx context.Context, s Scope, topN int) (*Variants, error) {
	b := &sqlBuilder{}
	b.add(`WITH v AS (
  SELECT c.variant, count(*) AS n,
         median((epoch_us(c.last_staged_at) - epoch_us(c.first_staged_at)) / 86400e6) AS d
  FROM kpi_case c
  WHERE c.variant IS NOT NULL AND c.started_at >= CAST(? AS TIMESTAMP) AND c.started_at < CAST(? AS TIMESTAMP)`,
		ts(s.From), ts(s.To))
	f, fargs := filterSQL(ctx, s)
	b.add(f, fargs...)
	b.add(` GROUP BY c.variant)
SELECT variant, n, d, count(*) OVER (), CAST(sum(n) OVER () AS BIGINT) FROM v ORDER BY n DESC, variant LIMIT ?`, topN)
	rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &Variants{Top: []Variant{}}
	for rows.Next() {
		var key string
		var v Variant
		if err := rows.Scan(&key, &v.Cases, &v.MedianDays, &out.Distinct, &out.Cases); err != nil {
			return nil, err
		}
		for _, p := range strings.Split(key, ".") {
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(e.model.Stages) {
				return nil, fmt.Errorf("variant %q does not match the model (refresh needed?)", key)
			}
			v.Stages = append(v.Stages, e.model.Stages[i].ID)
		}
		v.MedianDays = finite(v.MedianDays)
		out.Top = append(out.Top, v)
	}
	return out, rows.Err()
}
