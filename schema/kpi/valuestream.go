package kpi

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// valueStreamKPIs are the value stream's KPIs (DESIGN §5.4), per stage of a measured cycle.
var valueStreamKPIs = []KPI{
	{Name: "value_stream_cases", Title: "Cases that completed the cycle", Unit: UnitCount, Direction: Neutral, Section: "5.4",
		RangeOn: "the cycle's end event", Over: "cases that completed the cycle",
		Definition: "cases whose first event of the cycle's end milestone is in the range", Fields: []string{"ValueStream.cases"}},
	{Name: "stage_time_share", Title: "Share of the cycle time", Unit: UnitRatio, Direction: Neutral, Section: "5.4",
		RangeOn: "the cycle's end event", Over: "cases that completed the cycle",
		Definition: "Σ time in the stage inside the cycle / Σ cycle time; the largest share is the cycle's bottleneck",
		Fields:     []string{"StageStream.share"}},
	{Name: "stage_time_median", Title: "Median time in the stage", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.4",
		RangeOn: "the cycle's end event", Over: "cases with the stage inside the cycle",
		Definition: "median of a case's time in the stage inside the cycle (the dwells of its events)", Fields: []string{"StageStream.medianDays"}},
	{Name: "stage_time_p90", Title: "90th percentile of the time in the stage", Unit: UnitDays, Direction: LowerIsBetter, Section: "5.4",
		RangeOn: "the cycle's end event", Over: "cases with the stage inside the cycle",
		Definition: "90th percentile of a case's time in the stage inside the cycle", Fields: []string{"StageStream.p90Days"}},
	{Name: "stage_cases", Title: "Cases with the stage in the cycle", Unit: UnitCount, Direction: Neutral, Section: "5.4",
		RangeOn: "the cycle's end event", Over: "cases that completed the cycle",
		Definition: "cases that completed the cycle with an event of the stage inside it", Fields: []string{"StageStream.cases"}},
	{Name: "rework", Title: "Rework", Unit: UnitRatio, Direction: LowerIsBetter, Section: "5.4",
		RangeOn: "the case's first entry of the stage", Over: "cases reaching the stage",
		Definition: "cases with the stage twice or more / cases reaching it; repeatable stages are never rework",
		Fields:     []string{"StageStream.rework"},
		Maturity:   "a stage first entered in the period can still be repeated: the previous period's cases have had one period longer to repeat it"},
}

// StageStream is one stage of the value stream (DESIGN §5.4). Times are in days.
type StageStream struct {
	Stage string `json:"stage"`
	// Share is Σ_c time(c, s) / Σ_c (last − first) over the cohort (N: cases in the cohort).
	Share Value `json:"share"`
	// MedianDays and P90Days are quantile_cont of time(c, s) over the cohort's cases reaching s.
	MedianDays Value `json:"medianDays"`
	P90Days    Value `json:"p90Days"`
	// Rework is cases with ≥ 2 events of s / cases reaching s, over every case in the scope
	// reaching s (the range applying to its first entry of s), not only the cohort (N: those
	// cases); 0 for a repeatable stage (DESIGN §5.4).
	Rework Value `json:"rework"`
	// Cases counts the cohort's cases reaching s.
	Cases Value `json:"cases"`
}

// ValueStream is where the time of a cycle goes, for the cases that completed it.
type ValueStream struct {
	// Cycle is the measured cycle; a bottleneck is always named with it (DESIGN §5.4).
	Cycle  Cycle         `json:"cycle"`
	Stages []StageStream `json:"stages"`
	// Bottleneck is the stage with the largest current share ("" when the cohort is empty).
	Bottleneck string `json:"bottleneck"`
	// Cases counts the cohort.
	Cases Value `json:"cases"`
}

// DefaultCycle is the cycle a bottleneck is named for when none is asked (DESIGN §5.4): the sales
// cycle, else the first cycle in process order whose milestones the model marks (ErrNotConfigured
// when there is none).
func (e *Engine) DefaultCycle() (Cycle, error) {
	var first error
	for _, c := range Cycles() {
		err := e.CycleConfigured(c)
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
	}
	return "", first
}

// ValueStreamOf returns the value stream of cycle c (DESIGN §5.4) for the cases that completed it,
// the range applying to the cycle's end event (its end milestone's first event). A case's stage
// events are ordered by (occurred_at, seq) with personal-tier events dropped; each event's dwell
// is the time to the next. Only the stage time spent inside the case's span counts: the dwells of
// the staged events ordered at or after the cycle's start event (for the sales and lead-to-cash
// cycles, the case's first staged event) and before its end event, so a case's stage times sum to
// end − start and Share(s) = Σ_c time(c, s) / Σ_c (end − start). A stage counts for Cases,
// MedianDays and P90Days when it has an event inside the span. Rework is measured over every case
// in the scope reaching the stage (the range applying to its first entry of the stage), not only
// the cohort; repeatable stages have none. Cases whose end precedes their start are left out, as
// in CycleTimes. An unknown cycle wraps ErrBadScope; one whose milestones the model does not mark
// wraps ErrNotConfigured.
func (e *Engine) ValueStreamOf(ctx context.Context, s Scope, c Cycle) (*Breakdown[ValueStream], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if err := e.CycleConfigured(c); err != nil {
		return nil, fmt.Errorf("kpi.ValueStreamOf(%s): %w", c, err)
	}
	return cached(ctx, e, "valueStream:"+string(c), s.key(), func(ctx context.Context) (*Breakdown[ValueStream], error) {
		bd, err := e.valueStream(ctx, s, c)
		if err != nil {
			return nil, fmt.Errorf("kpi.ValueStreamOf(%s): %w", c, err)
		}
		return bd, nil
	})
}

func (e *Engine) valueStream(ctx context.Context, s Scope, cyc Cycle) (*Breakdown[ValueStream], error) {
	// The cohort from kpi_case; per stage, the cohort's stages (kpi_case.stages, one row per stage
	// the case reached) grouped by stage, and the stages of every case for rework. Both read each
	// case's stages next to its attributes, in one scan of kpi_case, restricted before the unnest:
	// the cohort by its end event, rework to the cases whose staged span meets the range (a stage's
	// first entry lies inside it; kpi_case is sorted by case start, so zone maps skip later ones).
	// Column names and expressions are constants of cycleDefs, never input.
	d, _ := cycleDefOf(cyc)
	where := d.startCol + " <= " + d.endCol
	t := fmt.Sprintf("(c.u.%s_s / 86400)", d.col)
	from := "(SELECT c.*, unnest(c.stages) AS u FROM kpi_case c WHERE %s >= CAST(? AS TIMESTAMP) AND %s < CAST(? AS TIMESTAMP)) c"
	qs := [3]aggQuery{
		{table: "kpi_case", ts: d.endCol, where: where, aggs: []string{
			"count(*)", fmt.Sprintf("sum((epoch_us(%s) - epoch_us(%s)) / 86400e6)", d.endCol, d.startCol)}},
		{from: fmt.Sprintf(from, d.endCol, d.endCol), fromArgs: []any{ts(s.previous()), ts(s.To)},
			ts: d.endCol, key: "c.u.pos", where: fmt.Sprintf("%s AND c.u.%s_events > 0", where, d.col),
			// Both quantiles from one aggregate (DuckDB binds the identical calls once): one copy of
			// the values per group and one sort, not two.
			aggs: []string{"sum(" + t + ")", "count(*)", "quantile_cont(" + t + ", [0.5, 0.9])[1]", "quantile_cont(" + t + ", [0.5, 0.9])[2]"}},
		{from: fmt.Sprintf(from, "c.last_staged_at", "c.first_staged_at"), fromArgs: []any{ts(s.previous()), ts(s.To)},
			ts: "c.u.first_at", key: "c.u.pos", aggs: []string{"count(*)", "count(*) FILTER (WHERE c.u.events >= 2)"}},
	}
	return perStage(ctx, e, s, qs[0], qs[1:], func(cur, prev cell) ValueStream {
		n, pn := int64(cur[0]), int64(prev[0])
		out := ValueStream{Cycle: cyc, Stages: make([]StageStream, len(e.model.Stages)), Cases: pair(count(cur[0], n), count(prev[0], pn))}
		best := -1.0
		for i, st := range e.model.Stages {
			c, p := cur[2+6*i:], prev[2+6*i:]
			rn, prn := int64(c[1]), int64(p[1])
			rework, prework := c[5], p[5]
			if st.Repeatable {
				rework, prework = 0, 0
			}
			out.Stages[i] = StageStream{
				Stage:      st.ID,
				Share:      pair(ratio(c[0], cur[1], n), ratio(p[0], prev[1], pn)),
				MedianDays: pair(stat(c[2], rn), stat(p[2], prn)),
				P90Days:    pair(stat(c[3], rn), stat(p[3], prn)),
				Rework:     pair(proportion(rework, c[4]), proportion(prework, p[4])),
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
	f, fargs := e.filterSQL(ctx, s)
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
		v.MedianDays = Finite(v.MedianDays)
		out.Top = append(out.Top, v)
	}
	return out, rows.Err()
}
