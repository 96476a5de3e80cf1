package kpi

import (
	"context"
	"strings"
	"testing"
)

func TestDiagnoseFixture(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	// Spend: North web 02-15..03-16 (30 days, 16 in March) 3000 → 1600; North events March 310;
	// South web March 620; South web April 999 (outside).
	for _, r := range []struct {
		from, to, ch, bu string
		amount           float64
	}{{"2025-02-15", "2025-03-16", "Web", "North", 3000}, {"2025-03-01", "2025-03-31", "Event", "North", 310},
		{"2025-03-01", "2025-03-31", "Web", "South", 620}, {"2025-04-01", "2025-04-30", "Web", "South", 999}} {
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO marketing_spend VALUES (CAST(? AS DATE), CAST(? AS DATE), ?, ?, ?, 'fx')`,
			r.from, r.to, r.ch, r.bu, r.amount); err != nil {
			t.Fatal(err)
		}
	}
	d, err := eng.Diagnose(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	// The diagnosis measures the sales cycle, as TestValueStreamSalesCycleFixture: Σ = 47 + 19/24
	// days over O1-O5; quote (15 + 19/24 days) is the bottleneck.
	total := 47 + 19.0/24
	if d.Bottleneck != "quote" || d.ValueStream.Cycle != CycleSales {
		t.Errorf("bottleneck %q of the %s cycle", d.Bottleneck, d.ValueStream.Cycle)
	}
	near(t, "bottleneck share", d.BottleneckShare, (15+19.0/24)/total, 1e-9)
	// Stage scores = share × cases reaching the stage in the cycle: quote (15 + 19/24)/Σ × 5 (O1-O5),
	// then opportunity_created: O1 2, O2 1, O3 1, O4 2, O5 1 = 7 days, 7/Σ × 5 (needs_analysis is
	// also 7 days but over 4 cases).
	if len(d.StageOpportunities) < 3 {
		t.Fatalf("stage opportunities: %+v", d.StageOpportunities)
	}
	s0, s1 := d.StageOpportunities[0], d.StageOpportunities[1]
	if s0.Rank != 1 || s0.Stage != "quote" || s0.Cases != 5 || s1.Stage != "opportunity_created" || s1.Rank != 2 {
		t.Errorf("top stages: %+v, %+v", s0, s1)
	}
	near(t, "Q score", s0.Score, 5*(15+19.0/24)/total, 1e-9)
	near(t, "OC score", s1.Score, 5*7/total, 1e-9)
	for _, o := range d.StageOpportunities {
		if o.Stage == "cash_collected" || o.Score <= 0 {
			t.Errorf("zero-score stage listed: %+v", o)
		}
	}
	// Gates (TestComplianceFixture): contract_review O2 late, O4 late, O5 failed = 3 of 5;
	// solution_review O3, O5 missing = 2 of 3.
	want := []GateOpportunity{
		{Rank: 1, Gate: "contract_review", Guards: "contract_signed", Violations: 3, Entered: 5, Failed: 1, Late: 2, Rate: 0.4},
		{Rank: 2, Gate: "solution_review", Guards: "quote", Violations: 2, Entered: 3, Missing: 2, Rate: 1.0 / 3},
	}
	if len(d.GateOpportunities) != 2 {
		t.Fatalf("gates: %+v", d.GateOpportunities)
	}
	for i, w := range want {
		g := d.GateOpportunities[i]
		near(t, "gate rate", g.Rate, w.Rate, 1e-9)
		g.Rate = w.Rate
		if g != w {
			t.Errorf("gate %d = %+v, want %+v", i, g, w)
		}
	}
	// Cost: spend 1600 + 310 + 620 = 2530; 9 leads created in March; 5 deals won (O1–O5).
	c := d.Cost
	near(t, "spend", c.Spend, 2530, 1e-6)
	if c.Leads != 9 || c.WonDeals != 5 || len(c.Unfiltered) != 0 {
		t.Errorf("cost: %+v", c)
	}
	near(t, "per lead", *c.PerLead, 2530.0/9, 1e-6)
	near(t, "per won deal", *c.PerWonDeal, 506, 1e-6)
	if d.LeadConversion.N != 9 || d.WinRate.N != 6 || d.Adoption.Rate.N == 0 || d.Compliance.Rate.N == 0 {
		t.Errorf("baseline KPIs: %+v %+v", d.LeadConversion, d.WinRate)
	}
	txt := d.Text()
	for _, w := range []string{"bottleneck: Quote at 33.0% of the sales cycle", "1. Quote",
		"1. Contract review", "(guards Contract signed) 3 violations of 5 entered", "2,530, 281.11 per lead, 506.00 per won deal"} {
		if !strings.Contains(txt, w) {
			t.Errorf("report lacks %q:\n%s", w, txt)
		}
	}

	// North only: spend 1910 over L1 L2 L5 L6 L11 (5 leads); a region filter cannot apply to spend.
	s := march()
	s.Filters = map[string][]string{"business_unit": {"North"}, "region": {"EU"}}
	d, err = eng.Diagnose(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "North spend", d.Cost.Spend, 1910, 1e-6)
	if d.Cost.Leads != 5 || len(d.Cost.Unfiltered) != 1 || d.Cost.Unfiltered[0] != "region" {
		t.Errorf("North cost: %+v", d.Cost)
	}
	if _, err := eng.Diagnose(ctx, Scope{}); err == nil {
		t.Error("empty scope accepted")
	}
}

func BenchmarkDiagnose(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	for b.Loop() {
		if _, err := eng.Diagnose(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}
