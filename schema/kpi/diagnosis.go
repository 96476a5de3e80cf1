package kpi

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Diagnosis is stage 1 of the five-stage model (DESIGN §1, §5.9) for one scope: where the cycle
// time goes, the quantified baseline, what it costs, and a ranked list of improvement
// opportunities with the numbers behind each rank. Every KPI is the engine's own, so the report
// matches the dashboards; each Value carries the previous period of equal length.
type Diagnosis struct {
	Scope Scope `json:"scope"`
	// ValueStream is the whole-scope value stream of the default cycle (DESIGN §5.4: the sales
	// cycle) and its bottleneck.
	ValueStream     ValueStream `json:"valueStream"`
	Bottleneck      string      `json:"bottleneck"`
	BottleneckShare float64     `json:"bottleneckShare"`
	// The baseline KPIs.
	LeadConversion Value      `json:"leadConversion"`
	WinRate        Value      `json:"winRate"`
	Cycles         CycleTimes `json:"cycles"`
	Adoption       Adoption   `json:"adoption"`
	Compliance     Compliance `json:"compliance"`
	WonValue       Value      `json:"wonValue"`
	Cost           Cost       `json:"cost"`
	// StageOpportunities ranks stages by Share × Cases; GateOpportunities ranks gates by
	// violations. Entries with a zero score are left out.
	StageOpportunities []StageOpportunity `json:"stageOpportunities"`
	GateOpportunities  []GateOpportunity  `json:"gateOpportunities"`

	// names are the model's stage names by id, and l2cConfigured whether the model marks
	// cash_collected, for Text.
	names         map[string]string
	l2cConfigured bool
}

// name is a stage's display name in the report.
func (d *Diagnosis) name(id string) string {
	if n, ok := d.names[id]; ok {
		return n
	}
	return id
}

// amount formats an amount with thousands separators and no decimals: 14707095 → "14,707,095".
func amount(v float64) string {
	s := strconv.FormatFloat(math.Round(math.Abs(v)), 'f', 0, 64)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if v < 0 && s != "0" {
		s = "-" + s
	}
	return s
}

// Cost is marketing spend against what it bought, in the scope.
type Cost struct {
	// Spend is the marketing spend pro-rated to the scope: each row's amount × the share of its
	// period [period_start, period_end] (whole days) inside [From, To).
	Spend float64 `json:"spend"`
	// Leads are the leads created in the scope; WonDeals the opportunities won (closed) in it.
	Leads    int64 `json:"leads"`
	WonDeals int64 `json:"wonDeals"`
	// PerLead = Spend / Leads and PerWonDeal = Spend / WonDeals (nil when the count is 0).
	PerLead    *float64 `json:"perLead"`
	PerWonDeal *float64 `json:"perWonDeal"`
	// Unfiltered lists scope filters that spend cannot honour (it has only business_unit and
	// channel): with any of them, Spend covers more than the leads and deals it is divided by.
	Unfiltered []string `json:"unfiltered"`
	// Withheld lists row-scope dimensions (RowScope) spend cannot be restricted to (it has no
	// region): with any of them Spend is withheld (0) and PerLead and PerWonDeal are nil.
	Withheld []string `json:"withheld"`
}

// StageOpportunity is a stage ranked by its share of the cycle time times the cases it delays.
type StageOpportunity struct {
	Rank  int    `json:"rank"`
	Stage string `json:"stage"`
	// Score = Share × Cases: Share is the stage's share of the cycle time (ValueStream), Cases
	// the cohort's cases reaching it.
	Score      float64 `json:"score"`
	Share      float64 `json:"share"`
	Cases      int64   `json:"cases"`
	MedianDays float64 `json:"medianDays"`
	P90Days    float64 `json:"p90Days"`
	Rework     float64 `json:"rework"`
}

// GateOpportunity is a quality gate ranked by its violations (missing + failed + late).
type GateOpportunity struct {
	Rank       int     `json:"rank"`
	Gate       string  `json:"gate"`
	Guards     string  `json:"guards"`
	Violations int64   `json:"violations"`
	Entered    int64   `json:"entered"`
	Missing    int64   `json:"missing"`
	Failed     int64   `json:"failed"`
	Late       int64   `json:"late"`
	Rate       float64 `json:"rate"` // compliance rate at the gate
}

// spendDims are the scope dimensions marketing_spend can be filtered by (a whitelist: column names).
var spendDims = map[string]string{"business_unit": "business_unit", "channel": "channel"}

// Diagnose returns the diagnosis report for a scope (GroupBy and Grain are ignored).
func (e *Engine) Diagnose(ctx context.Context, s Scope) (*Diagnosis, error) {
	s.GroupBy, s.Grain = nil, GrainNone
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	d, err := e.diagnose(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("kpi.Diagnose: %w", err)
	}
	return d, nil
}

func (e *Engine) diagnose(ctx context.Context, s Scope) (*Diagnosis, error) {
	out := &Diagnosis{Scope: s, names: map[string]string{}, l2cConfigured: e.CycleConfigured(CycleLeadToCash) == nil}
	for _, st := range e.model.Stages {
		out.names[st.ID] = st.Title()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	cycle, err := e.DefaultCycle()
	if err != nil {
		return nil, err
	}
	g.Go(func() error {
		bd, err := e.ValueStreamOf(gctx, s, cycle)
		if err == nil {
			out.ValueStream = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.LeadConversion(gctx, s)
		if err == nil {
			out.LeadConversion = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.WinRate(gctx, s)
		if err == nil {
			out.WinRate = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.CycleTimes(gctx, s)
		if err == nil {
			out.Cycles = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.Adoption(gctx, s)
		if err == nil {
			out.Adoption = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.Compliance(gctx, s)
		if err == nil {
			out.Compliance = bd.Total
		}
		return err
	})
	g.Go(func() error {
		bd, err := e.WonValue(gctx, s)
		if err == nil {
			out.WonValue = bd.Total
		}
		return err
	})
	if len(rowScopeOf(ctx).Regions) > 0 {
		out.Cost.Withheld = []string{"region"}
	} else {
		g.Go(func() error {
			v, err := e.spend(gctx, s)
			out.Cost.Spend = v
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	vs := out.ValueStream
	out.Bottleneck = vs.Bottleneck
	for _, st := range vs.Stages {
		if st.Stage == vs.Bottleneck {
			out.BottleneckShare = st.Share.Value
		}
		if score := st.Share.Value * st.Cases.Value; score > 0 {
			out.StageOpportunities = append(out.StageOpportunities, StageOpportunity{Stage: st.Stage, Score: score,
				Share: st.Share.Value, Cases: int64(st.Cases.Value), MedianDays: st.MedianDays.Value,
				P90Days: st.P90Days.Value, Rework: st.Rework.Value})
		}
	}
	sort.SliceStable(out.StageOpportunities, func(i, j int) bool {
		return out.StageOpportunities[i].Score > out.StageOpportunities[j].Score
	})
	for i := range out.StageOpportunities {
		out.StageOpportunities[i].Rank = i + 1
	}
	for _, gc := range out.Compliance.Gates {
		o := GateOpportunity{Gate: gc.Gate, Guards: gc.Guards, Entered: int64(gc.Entered.Value),
			Missing: int64(gc.Missing.Value), Failed: int64(gc.Failed.Value), Late: int64(gc.Late.Value), Rate: gc.Rate.Value}
		o.Violations = o.Missing + o.Failed + o.Late
		if o.Violations > 0 {
			out.GateOpportunities = append(out.GateOpportunities, o)
		}
	}
	sort.SliceStable(out.GateOpportunities, func(i, j int) bool {
		return out.GateOpportunities[i].Violations > out.GateOpportunities[j].Violations
	})
	for i := range out.GateOpportunities {
		out.GateOpportunities[i].Rank = i + 1
	}
	if out.StageOpportunities == nil {
		out.StageOpportunities = []StageOpportunity{}
	}
	if out.GateOpportunities == nil {
		out.GateOpportunities = []GateOpportunity{}
	}
	c := &out.Cost
	c.Leads, c.WonDeals = out.LeadConversion.N, out.WonValue.N
	withheld := c.Withheld != nil
	if !withheld {
		c.Withheld = []string{}
	}
	if c.Leads > 0 && !withheld {
		v := c.Spend / float64(c.Leads)
		c.PerLead = &v
	}
	if c.WonDeals > 0 && !withheld {
		v := c.Spend / float64(c.WonDeals)
		c.PerWonDeal = &v
	}
	c.Unfiltered = []string{}
	for dim, vs := range s.Filters {
		if _, ok := spendDims[dim]; !ok && len(vs) > 0 {
			c.Unfiltered = append(c.Unfiltered, dim)
		}
	}
	sort.Strings(c.Unfiltered)
	return out, nil
}

// spend returns the marketing spend pro-rated to [From, To), filtered by business unit and channel
// and by the business units of the row scope (callers withhold spend under a region restriction).
func (e *Engine) spend(ctx context.Context, s Scope) (float64, error) {
	b := &sqlBuilder{}
	b.add(`SELECT coalesce(sum(amount * (epoch_us(least(pend, CAST(? AS TIMESTAMP))) - epoch_us(greatest(pstart, CAST(? AS TIMESTAMP))))
                        / (epoch_us(pend) - epoch_us(pstart))), 0)
FROM (SELECT CAST(amount AS DOUBLE) AS amount, CAST(period_start AS TIMESTAMP) AS pstart,
             CAST(period_end AS TIMESTAMP) + INTERVAL 1 DAY AS pend, business_unit, channel FROM marketing_spend) m
WHERE pstart < CAST(? AS TIMESTAMP) AND pend > CAST(? AS TIMESTAMP) AND pend > pstart`, ts(s.To), ts(s.From), ts(s.To), ts(s.From))
	dims := make([]string, 0, len(s.Filters))
	for d := range s.Filters {
		dims = append(dims, d)
	}
	sort.Strings(dims)
	for _, dim := range dims {
		col, ok := spendDims[dim]
		if !ok || len(s.Filters[dim]) == 0 {
			continue
		}
		b.add(" AND m." + col + " IN (" + placeholders(len(s.Filters[dim])) + ")")
		for _, v := range s.Filters[dim] {
			b.args = append(b.args, v)
		}
	}
	r, rargs := rowScopeOf(ctx).sql("m.business_unit", "NULL")
	b.add(r, rargs...)
	var v float64
	if err := e.db.Read.QueryRowContext(ctx, b.sb.String(), b.args...).Scan(&v); err != nil {
		return 0, fmt.Errorf("spend: %w", err)
	}
	return Finite(v), nil
}

// Text renders the diagnosis as a plain-text report (numbers with the previous period beside
// them), for the printable Diagnosis page, notes and logs.
func (d *Diagnosis) Text() string {
	var b strings.Builder
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	prevPct := func(v Value) string {
		if v.PreviousN == 0 {
			return "n/a"
		}
		return pct(v.Previous)
	}
	fmt.Fprintf(&b, "Diagnosis %s .. %s", d.Scope.From.UTC().Format("2006-01-02"), d.Scope.To.UTC().Format("2006-01-02"))
	if len(d.Scope.Filters) > 0 {
		keys := make([]string, 0, len(d.Scope.Filters))
		for k := range d.Scope.Filters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%s", k, strings.Join(d.Scope.Filters[k], ","))
		}
	}
	b.WriteString("\n\nBaseline (previous period of equal length in brackets)\n")
	fmt.Fprintf(&b, "  lead conversion   %s of %d leads [%s]\n", pct(d.LeadConversion.Value), d.LeadConversion.N, prevPct(d.LeadConversion))
	fmt.Fprintf(&b, "  win rate          %s of %d closed [%s]\n", pct(d.WinRate.Value), d.WinRate.N, prevPct(d.WinRate))
	fmt.Fprintf(&b, "  sales cycle       p50 %.1f d, p90 %.1f d, mean %.1f d over %d cases [p50 %.1f d]\n",
		d.Cycles.Sales.P50.Value, d.Cycles.Sales.P90.Value, d.Cycles.Sales.Mean.Value, d.Cycles.Sales.P50.N, d.Cycles.Sales.P50.Previous)
	if d.l2cConfigured {
		fmt.Fprintf(&b, "  lead-to-cash      p50 %.1f d over %d cases\n", d.Cycles.LeadToCash.P50.Value, d.Cycles.LeadToCash.P50.N)
	} else {
		b.WriteString("  lead-to-cash      not configured (the process model marks no cash_collected milestone)\n")
	}
	fmt.Fprintf(&b, "  adoption          %s of %d cases [%s], coverage %s\n", pct(d.Adoption.Rate.Value), d.Adoption.Rate.N, prevPct(d.Adoption.Rate), pct(d.Adoption.Coverage.Value))
	fmt.Fprintf(&b, "  compliance        %s of %d cases [%s]\n", pct(d.Compliance.Rate.Value), d.Compliance.Rate.N, prevPct(d.Compliance.Rate))
	fmt.Fprintf(&b, "  won value         %s in %d deals\n", amount(d.WonValue.Value), d.WonValue.N)
	c := d.Cost
	fmt.Fprintf(&b, "  marketing spend   %s", amount(c.Spend))
	if c.PerLead != nil {
		fmt.Fprintf(&b, ", %.2f per lead", *c.PerLead)
	}
	if c.PerWonDeal != nil {
		fmt.Fprintf(&b, ", %.2f per won deal", *c.PerWonDeal)
	}
	if len(c.Unfiltered) > 0 {
		fmt.Fprintf(&b, " (spend not filtered by %s)", strings.Join(c.Unfiltered, ", "))
	}
	cyc := cycleTitle(d.ValueStream.Cycle)
	fmt.Fprintf(&b, "\n\nValue stream of the %s (%d cases completed it); bottleneck: %s at %s of the %s\n",
		cyc, int64(d.ValueStream.Cases.Value), d.name(d.Bottleneck), pct(d.BottleneckShare), cyc)
	fmt.Fprintf(&b, "\nImprovement opportunities: stages (score = share of the %s × cases reaching the stage)\n", cyc)
	for _, o := range d.StageOpportunities {
		fmt.Fprintf(&b, "  %d. %-20s score %7.1f = %s × %d cases; median %.1f d, p90 %.1f d, rework %s\n",
			o.Rank, d.name(o.Stage), o.Score, pct(o.Share), o.Cases, o.MedianDays, o.P90Days, pct(o.Rework))
	}
	b.WriteString("\nImprovement opportunities: gates (by violations)\n")
	for _, o := range d.GateOpportunities {
		fmt.Fprintf(&b, "  %d. %-16s (guards %s) %d violations of %d entered: %d missing, %d failed, %d late; compliance %s\n",
			o.Rank, d.name(o.Gate), d.name(o.Guards), o.Violations, o.Entered, o.Missing, o.Failed, o.Late, pct(o.Rate))
	}
	return b.String()
}
