package kpi

import (
	"context"
	"fmt"
	"slices"
)

// funnelMaturity is the funnel's maturity note (KPI.Maturity): reach is counted on a cohort by case start.
const funnelMaturity = "cases started in the period can still reach later stages: the previous period's cases have had one period longer to get there"

// funnelKPIs are the funnel's KPIs (DESIGN §5.1), per stage of the model.
var funnelKPIs = []KPI{
	{Name: "stage_reached", Title: "Cases reaching the stage", Unit: UnitCount, Direction: Neutral, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases started",
		Definition: "cases with at least one event of the stage", Fields: []string{"FunnelStage.reached"},
		Maturity: funnelMaturity},
	{Name: "stage_conversion", Title: "Conversion from the previous stage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases reaching the previous stage",
		Definition: "of the cases that reached the stage before it on their branch, the share that reached the stage (never above 1)",
		Fields:     []string{"FunnelStage.fromPrevious"}, Maturity: funnelMaturity},
	{Name: "stage_reach", Title: "Reach from the first stage", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.1",
		RangeOn: "case start (first event of any tier)", Over: "cases reaching the first stage",
		Definition: "of the cases that reached the first stage, the share that reached the stage", Fields: []string{"FunnelStage.fromTop"},
		Maturity: funnelMaturity},
}

// conversionKPIs are lead conversion and win rate (DESIGN §5.2).
var conversionKPIs = []KPI{
	{Name: "lead_conversion", Title: "Lead conversion", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.2",
		RangeOn: "the lead's created_at", Over: "leads created",
		Definition: "leads converted (with an opportunity, a converted_at, or the status converted) / leads created",
		Fields:     []string{"Query.leadConversion", "Diagnosis.leadConversion"},
		Maturity:   "leads created in the period can still convert: the previous period's leads have had one period longer to"},
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
	// One scan of the cohort counting cases per bitmask of the stages they reached (kpi_case.reached,
	// or within the window the stages whose first event lies within it, from kpi_case_stage) and per
	// branch; a cohort has few distinct masks, and every funnel number is a sum over them.
	q := aggQuery{table: "kpi_case", ts: "c.started_at", key: "coalesce(c.reached, 0)", aggs: []string{"count(*)"}}
	if window >= 0 {
		q.key = "coalesce(w.wmask, 0)"
		q.from = `kpi_case c LEFT JOIN (SELECT s.case_id, bit_or(CAST(1 AS BIGINT) << s.stage_pos) AS wmask
    FROM kpi_case_stage s JOIN kpi_case k ON k.case_id = s.case_id
    WHERE s.first_at <= k.started_at + to_days(CAST(? AS INTEGER)) GROUP BY s.case_id) w ON w.case_id = c.case_id`
		q.fromArgs = []any{window}
	}
	steps := e.funnelSteps()
	branches := e.funnelBranches()
	for _, b := range branches {
		q.aggs = append(q.aggs, "count(*) FILTER (WHERE c.branch = ?)")
		q.aggArgs = append(q.aggArgs, b)
	}
	byMask, err := e.runKeyed(ctx, s, q)
	if err != nil {
		return nil, err
	}
	masks := make([]int64, 0, len(byMask))
	for m := range byMask {
		masks = append(masks, m)
	}
	slices.Sort(masks)
	rs := make([]*aggResult, len(masks))
	for i, m := range masks {
		rs[i] = byMask[m]
	}
	branchIdx := map[string]int{}
	for i, b := range branches {
		branchIdx[b] = 1 + i // the cell holding the branch's count
	}
	// side sums a period's cells (one per mask: all cases, then per branch).
	side := func(cs []cell) (cohort float64, reached, top, num, den []float64) {
		n := len(e.model.Stages)
		reached, top, num, den = make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		for j, c := range cs {
			m := masks[j]
			has := func(p int) bool { return m&(int64(1)<<p) != 0 }
			cohort += c[0]
			for i := range e.model.Stages {
				if has(i) {
					reached[i] += c[0]
					if has(0) {
						top[i] += c[0]
					}
				}
				// Per step: the cases on its branch that reached its previous stage (for a branch's
				// first stage, the stage itself), and of those the ones that reached the stage.
				for _, st := range steps[i] {
					cnt := c[0]
					if st.branch != "" {
						cnt = c[branchIdx[st.branch]]
					}
					from := st.prev
					if from < 0 {
						from = st.stage
					}
					if has(from) {
						den[i] += cnt
						if has(st.stage) {
							num[i] += cnt
						}
					}
				}
			}
		}
		return cohort, reached, top, num, den
	}
	bd, err := assemble(e, s, rs, func(cur, prev []cell) Funnel {
		cn, cr, ct, cnum, cden := side(cur)
		pn, pr, pt, pnum, pden := side(prev)
		f := Funnel{Stages: make([]FunnelStage, len(e.model.Stages))}
		for i, st := range e.model.Stages {
			f.Stages[i] = FunnelStage{
				Stage:        st.ID,
				Reached:      pair(count(cr[i], int64(cn)), count(pr[i], int64(pn))),
				FromPrevious: pair(proportion(cnum[i], cden[i]), proportion(pnum[i], pden[i])),
				FromTop:      pair(proportion(ct[i], cr[0]), proportion(pt[i], pr[0])),
			}
		}
		return f
	})
	if err != nil {
		return nil, err
	}
	return bd, nil
}

// funnelBranches lists the branches the funnel's steps name ("" steps need no branch count).
func (e *Engine) funnelBranches() []string {
	var out []string
	for _, b := range e.model.Branches {
		out = append(out, b.ID)
	}
	return out
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
