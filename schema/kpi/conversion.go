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
		Definition: "of the cases that reached the stage before it on their branch, the share that reached the stage (never above 1)",
		Fields:     []string{"FunnelStage.fromPrevious"}},
	{Name: "stage_reach", Title: "Reach from the first stage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases reaching the first stage",
		Definition: "of the cases that reached the first stage, the share that reached the stage", Fields: []string{"FunnelStage.fromTop"}},
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
	// FromPrevious is the conversion into the stage from the stage before it on each case's branch:
	// of the cases on a branch the stage is expected on that reached the branch's previous stage,
	// the share that also reached this one, summed over those branches (N: those cases). It never
	// exceeds 1, however branches skip stages. For the first stage on a branch it is 1.
	FromPrevious Value `json:"fromPrevious"`
	// FromTop is the share of the cases reaching the first stage that also reached this one (N:
	// cases reaching the first stage).
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
		bd, err := e.funnel(ctx, s, w)
		if err != nil {
			return nil, fmt.Errorf("kpi.Funnel: %w", err)
		}
		return bd, nil
	})
}

// funnelStep is one (stage, branch) pair of the funnel: the stage is expected on the branch and
// prev is the stage before it on that branch (-1 for the branch's first stage).
type funnelStep struct {
	stage, prev int
	branch      string // "" when the model has no branches
}

// funnelSteps returns, in stage order, each stage's steps: one per branch it is expected on.
func (e *Engine) funnelSteps() [][]funnelStep {
	branches := []string{""}
	if len(e.model.Branches) > 0 {
		branches = branches[:0]
		for _, b := range e.model.Branches {
			branches = append(branches, b.ID)
		}
	}
	out := make([][]funnelStep, len(e.model.Stages))
	for _, b := range branches {
		prev := -1
		for i, st := range e.model.Stages {
			if b != "" && !st.Expected(b) {
				continue
			}
			out[i] = append(out[i], funnelStep{stage: i, prev: prev, branch: b})
			prev = i
		}
	}
	return out
}

func (e *Engine) funnel(ctx context.Context, s Scope, window int) (*Breakdown[Funnel], error) {
	// One scan of the cohort over a bitmask of the stages each case reached: kpi_case.reached, or
	// within the window the stages whose first event lies within it (from kpi_case_stage).
	mask := "c.reached"
	q := aggQuery{table: "kpi_case", ts: "c.started_at"}
	if window >= 0 {
		mask = "c.wmask"
		q.from = `kpi_case c LEFT JOIN (SELECT s.case_id, bit_or(CAST(1 AS BIGINT) << s.stage_pos) AS wmask
    FROM kpi_case_stage s JOIN kpi_case k ON k.case_id = s.case_id
    WHERE s.first_at <= k.started_at + to_days(CAST(? AS INTEGER)) GROUP BY s.case_id) w ON w.case_id = c.case_id`
		q.sel = "c.*, w.wmask"
		q.fromArgs = []any{window}
	}
	has := func(p int) string { return fmt.Sprintf("%s & %s <> 0", mask, bit(p)) }
	q.aggs = []string{"count(*)", "count(*) FILTER (WHERE " + has(0) + ")"}
	for i := range e.model.Stages {
		q.aggs = append(q.aggs, "count(*) FILTER (WHERE "+has(i)+")", "count(*) FILTER (WHERE "+has(0)+" AND "+has(i)+")")
	}
	// Per step, the cases on its branch that reached its previous stage, and of those the ones that
	// reached the stage too (for a branch's first stage: the cases on the branch reaching it, twice).
	steps := e.funnelSteps()
	for _, ss := range steps {
		for _, st := range ss {
			cond := has(st.stage)
			if st.prev >= 0 {
				cond = has(st.prev)
			}
			if st.branch != "" {
				cond = "c.branch = ? AND " + cond
				q.aggArgs = append(q.aggArgs, st.branch, st.branch)
			}
			q.aggs = append(q.aggs, "count(*) FILTER (WHERE "+cond+")", "count(*) FILTER (WHERE "+cond+" AND "+has(st.stage)+")")
		}
	}
	return each(ctx, e, s, q, func(cur, prev cell) Funnel {
		f := Funnel{Stages: make([]FunnelStage, len(e.model.Stages))}
		k := 2 + 2*len(e.model.Stages) // the first step cell
		for i, st := range e.model.Stages {
			r, pr := cur[2+2*i], prev[2+2*i]
			var den, num, pden, pnum float64
			for range steps[i] {
				den, num, pden, pnum = den+cur[k], num+cur[k+1], pden+prev[k], pnum+prev[k+1]
				k += 2
			}
			f.Stages[i] = FunnelStage{
				Stage:        st.ID,
				Reached:      pair(count(r, int64(cur[0])), count(pr, int64(prev[0]))),
				FromPrevious: pair(proportion(num, den), proportion(pnum, pden)),
				FromTop:      pair(proportion(cur[3+2*i], cur[1]), proportion(prev[3+2*i], prev[1])),
			}
		}
		return f
	})
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
	return pair(proportion(cur[1], cur[0]), proportion(prev[1], prev[0]))
}
