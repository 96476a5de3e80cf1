package kpi

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

func TestValueStreamFixture(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.ValueStreamOf(ctx, march(), CycleLeadToCash)
	if err != nil {
		t.Fatal(err)
	}
	v := bd.Total
	// Cohort: first CC in March: O1 (03-31), O2 (03-30); previous O9 (02-26).
	// Dwells (days, personal "Coffee chat" dropped so NA→Q is 3):
	// O1: LC1 LQ1 OC2 NA3 Q1 CR1 CS1 DS9 DA1 INV10 CC0, total 30.
	// O2: LC1 LQ1 OC1 NA(1+1) SD(2+1) SR(1+1) Q2 CS1 CR1 DS9 DA1 INV4 CC0, total 28.
	// Σ total 58: DS 18/58 is the bottleneck; INV 14/58; NA 5/58.
	// Previous O9: LC1 LQ1 OC1 NA2 Q1 CR1 CS1 DS6 DA1 INV10, total 25: DS 6/25.
	if v.Bottleneck != "delivery_started" {
		t.Errorf("bottleneck = %q", v.Bottleneck)
	}
	checkValue(t, "cases", v.Cases, 2, 1, 2, 1, f(1))
	checkValue(t, "DS share", v.Stages[9].Share, 18.0/58, 6.0/25, 2, 1, f(18.0/58-6.0/25))
	checkValue(t, "INV share", v.Stages[11].Share, 14.0/58, 10.0/25, 2, 1, f(14.0/58-10.0/25))
	// INV times 10 and 4: median 7, p90 4 + 0.9·6 = 9.4; previous 10.
	checkValue(t, "INV median", v.Stages[11].MedianDays, 7, 10, 2, 1, f(-3))
	checkValue(t, "INV p90", v.Stages[11].P90Days, 9.4, 10, 2, 1, f(-0.6))
	// NA: O1 3, O2 2 → median 2.5. Rework is over every case whose first NA is in March, not only
	// the cohort: O1, O2 (twice), O3, O5, O8 → 1/5; previous O9 (02-04) 0/1.
	checkValue(t, "NA median", v.Stages[3].MedianDays, 2.5, 2, 2, 1, f(0.5))
	checkValue(t, "NA rework", v.Stages[3].Rework, 0.2, 0, 5, 1, f(0.2))
	// SR: only O2 (fail then pass = two events): rework 1/1, time 2; not reached before: undefined.
	checkValue(t, "SR rework", v.Stages[5].Rework, 1, 0, 1, 0, nil)
	checkValue(t, "SR cases", v.Stages[5].Cases, 1, 0, 2, 1, f(1))
	var sum float64
	for _, s := range v.Stages {
		sum += s.Share.Value
	}
	if sum < 1-eps || sum > 1+eps {
		t.Errorf("shares sum to %v", sum)
	}
}

func TestValueStreamSalesCycleFixture(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.ValueStreamOf(ctx, march(), CycleSales)
	if err != nil {
		t.Fatal(err)
	}
	v := bd.Total
	// Cohort: first contract_signed in March: O1 03-10, O2 03-14, O3 03-12 10:00, O4 03-15 09:00,
	// O5 03-17; previous: O9 02-08. Only staged events ordered before the first CS count (personal
	// "Coffee chat" dropped), each with its dwell to the next staged event (days):
	// O1: LC1 LQ1 OC2 NA3 Q1 CR1                          = 9 (03-01 → 03-10)
	// O2: LC1 LQ1 OC1 NA(1+1) SD(2+1) SR(1+1) Q2          = 12 (03-02 → 03-14)
	// O3: LC1 LQ1 OC1 NA1 SD2 Q(3+10/24) CR0 (seq 7 < CS's 8) = 9+10/24 (03-03 → 03-12 10:00)
	// O4: LC1 OC2 Q(7+9/24); its CR (seq 6) is after CS (seq 5): not in the span = 10+9/24
	// O5: LC1 LQ1 OC1 NA1 Q2 CR1                          = 7 (03-10 → 03-17)
	// Σ = 47 + 19/24. Q: 1+2+3+10/24+7+9/24+2 = 15+19/24, the bottleneck; SD: 3+2 = 5; CR: 1+0+1 = 2.
	// Previous O9: LC1 LQ1 OC1 NA2 Q1 CR1 = 7: Q 1/7, SD 0/7, CR 1 day.
	total := 47 + 19.0/24
	if v.Bottleneck != "quote" {
		t.Errorf("bottleneck = %q, want quote", v.Bottleneck)
	}
	checkValue(t, "cases", v.Cases, 5, 1, 5, 1, f(4))
	checkValue(t, "Q share", v.Stages[6].Share, (15+19.0/24)/total, 1.0/7, 5, 1, f((15+19.0/24)/total-1.0/7))
	checkValue(t, "SD share", v.Stages[4].Share, 5/total, 0, 5, 1, f(5/total))
	checkValue(t, "LC share", v.Stages[0].Share, 5/total, 1.0/7, 5, 1, f(5/total-1.0/7))
	// SD reached in the span by O2 (3 days, two events: rework) and O3 (2 days): median 2.5,
	// p90 2 + 0.9·1 = 2.9, rework 1/2; none before.
	checkValue(t, "SD cases", v.Stages[4].Cases, 2, 0, 5, 1, f(2))
	checkValue(t, "SD median", v.Stages[4].MedianDays, 2.5, 0, 2, 0, nil)
	checkValue(t, "SD p90", v.Stages[4].P90Days, 2.9, 0, 2, 0, nil)
	checkValue(t, "SD rework", v.Stages[4].Rework, 0.5, 0, 2, 0, nil)
	// CR in the span: O1 (1), O3 (0, same time as CS but ordered before it), O5 (1); not O4.
	// Times 0, 1, 1: median 1; previous O9 1.
	checkValue(t, "CR cases", v.Stages[7].Cases, 3, 1, 5, 1, f(2))
	checkValue(t, "CR median", v.Stages[7].MedianDays, 1, 1, 3, 1, f(0))
	// NA rework does not depend on the cycle: every case first reaching NA in March, O1, O2
	// (twice), O3, O5, O8 → 1/5; previous O9 0/1.
	checkValue(t, "NA rework", v.Stages[3].Rework, 0.2, 0, 5, 1, f(0.2))
	// Stages after the signature are outside the sales cycle.
	for _, i := range []int{8, 9, 10, 11, 12} {
		if v.Stages[i].Cases.Value != 0 || v.Stages[i].Share.Value != 0 {
			t.Errorf("%s in the sales cycle: %+v", v.Stages[i].Stage, v.Stages[i])
		}
	}
	var sum float64
	for _, s := range v.Stages {
		sum += s.Share.Value
	}
	if sum < 1-eps || sum > 1+eps {
		t.Errorf("shares sum to %v", sum)
	}

	// Delivery: first CS → first DA, cohort by DA in March: O1 CS1 DS9 = 10; O2 CS1 CR1 DS9 = 11
	// (its CR follows the signature). DS 18/21; previous O9 CS1 DS6: DS 6/7.
	bd, err = eng.ValueStreamOf(ctx, march(), CycleDelivery)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "delivery cases", bd.Total.Cases, 2, 1, 2, 1, f(1))
	checkValue(t, "delivery DS share", bd.Total.Stages[9].Share, 18.0/21, 6.0/7, 2, 1, f(18.0/21-6.0/7))
	checkValue(t, "delivery CR cases", bd.Total.Stages[7].Cases, 1, 0, 2, 1, f(1))
	// Cash: first INV → first CC, cohort by CC in March: O1 INV10, O2 INV4: invoiced is all of it;
	// previous O9 INV10.
	bd, err = eng.ValueStreamOf(ctx, march(), CycleCash)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "cash INV share", bd.Total.Stages[11].Share, 1, 1, 2, 1, f(0))
	checkValue(t, "cash INV median", bd.Total.Stages[11].MedianDays, 7, 10, 2, 1, f(-3))
	if bd.Total.Bottleneck != "invoiced" {
		t.Errorf("cash bottleneck = %q", bd.Total.Bottleneck)
	}

	// The default cycle is the sales cycle; an unknown cycle is a bad scope.
	if c, err := eng.DefaultCycle(); c != CycleSales || err != nil {
		t.Errorf("DefaultCycle = %q, %v; want sales", c, err)
	}
	if _, err := eng.ValueStreamOf(ctx, march(), Cycle("quote")); !errors.Is(err, ErrBadScope) {
		t.Errorf("unknown cycle: err = %v, want ErrBadScope", err)
	}
}

func TestVariantsFixture(t *testing.T) {
	eng, _ := newFixture(t)
	vs, err := eng.Variants(context.Background(), march(), 2)
	if err != nil {
		t.Fatal(err)
	}
	// March cohort's staged sequences: L7 and O11 are both [LC] (2 cases, 0 days); the 7 others are
	// distinct (L6 is [LC LQ] without its personal call) → 8 variants over 9 cases. Ties sort by the
	// key of stage positions, so among the 1-case variants L6's "0.1" comes first.
	if vs.Distinct != 8 || vs.Cases != 9 || len(vs.Top) != 2 {
		t.Fatalf("variants = %+v", vs)
	}
	if !reflect.DeepEqual(vs.Top[0], Variant{Stages: []string{"lead_created"}, Cases: 2, MedianDays: 0}) {
		t.Errorf("top variant = %+v", vs.Top[0])
	}
	// Second: L6's "0.1", 1 day (LC 03-15 → LQ 03-16).
	if !reflect.DeepEqual(vs.Top[1], Variant{Stages: []string{"lead_created", "lead_qualified"}, Cases: 1, MedianDays: 1}) {
		t.Errorf("second variant = %+v", vs.Top[1])
	}
}

func BenchmarkValueStream(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.ValueStreamOf(ctx, s, CycleLeadToCash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "valueStream", s) })
	b.Run("variants", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Variants(ctx, s, 20); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestValueStreamGroupSeries: grouped by business unit with a monthly grain, each unit carries its
// own value-stream series over February and March (sales cycle, cohort by first contract_signed).
func TestValueStreamGroupSeries(t *testing.T) {
	eng, _ := newFixture(t)
	s := Scope{From: at("02-01"), To: at("04-01"), GroupBy: []string{"business_unit"}, Grain: GrainMonth}
	bd, err := eng.ValueStreamOf(context.Background(), s, CycleSales)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Groups) != 2 || bd.Groups[0].Key["business_unit"] != "North" || bd.Groups[1].Key["business_unit"] != "South" {
		t.Fatalf("groups = %+v", bd.Groups)
	}
	north, south := bd.Groups[0], bd.Groups[1]
	if len(north.Series) != 2 || len(south.Series) != 2 || !north.Series[1].Start.Equal(at("03-01")) {
		t.Fatalf("series: North %d points, South %d, want 2 each (February, March)", len(north.Series), len(south.Series))
	}
	// North, February: O9 (CS 02-08): LC1 LQ1 OC1 NA2 Q1 CR1 = 7 days; NA 2/7 is the bottleneck.
	// Its previous bucket (January) is empty.
	nf := north.Series[0].Result
	if nf.Bottleneck != "needs_analysis" {
		t.Errorf("North February bottleneck = %q, want needs_analysis", nf.Bottleneck)
	}
	checkValue(t, "North Feb cases", nf.Cases, 1, 0, 1, 0, f(1)) // a count changes from 0
	checkValue(t, "North Feb NA share", nf.Stages[3].Share, 2.0/7, 0, 1, 0, nil)
	// North, March: O1 (9: LC1 LQ1 OC2 NA3 Q1 CR1), O2 (12: LC1 LQ1 OC1 NA2 SD3 SR2 Q2) and O5
	// (7: LC1 LQ1 OC1 NA1 Q2 CR1), 28 days: NA 3+2+1 = 6 is the bottleneck (6/28, previous 2/7);
	// Q 1+2+2 = 5 → 5/28 (previous 1/7), Q times 1, 2, 2: median 2. NA rework over the North cases
	// first reaching NA in March (O1, O2 twice, O5): 1/3; February O9: 0/1.
	nm := north.Series[1].Result
	if nm.Bottleneck != "needs_analysis" {
		t.Errorf("North March bottleneck = %q, want needs_analysis", nm.Bottleneck)
	}
	checkValue(t, "North Mar cases", nm.Cases, 3, 1, 3, 1, f(2))
	checkValue(t, "North Mar NA share", nm.Stages[3].Share, 6.0/28, 2.0/7, 3, 1, f(6.0/28-2.0/7))
	checkValue(t, "North Mar Q share", nm.Stages[6].Share, 5.0/28, 1.0/7, 3, 1, f(5.0/28-1.0/7))
	checkValue(t, "North Mar Q median", nm.Stages[6].MedianDays, 2, 1, 3, 1, f(1))
	checkValue(t, "North Mar NA rework", nm.Stages[3].Rework, 1.0/3, 0, 3, 1, f(1.0/3))
	// South, February: nothing signed, no bottleneck.
	if sf := south.Series[0].Result; sf.Bottleneck != "" || sf.Cases.Value != 0 {
		t.Errorf("South February = %+v, want an empty cohort", sf)
	}
	// South, March: O3 (9+10/24: LC1 LQ1 OC1 NA1 SD2 Q 3+10/24 CR0) and O4 (10+9/24: LC1 OC2
	// Q 7+9/24), 19+19/24 days: Q 10+19/24 is the bottleneck. NA rework: O3, O8 once each: 0/2.
	sm := south.Series[1].Result
	if sm.Bottleneck != "quote" {
		t.Errorf("South March bottleneck = %q, want quote", sm.Bottleneck)
	}
	checkValue(t, "South Mar cases", sm.Cases, 2, 0, 2, 0, f(2))
	checkValue(t, "South Mar Q share", sm.Stages[6].Share, (10+19.0/24)/(19+19.0/24), 0, 2, 0, nil)
	checkValue(t, "South Mar NA rework", sm.Stages[3].Rework, 0, 0, 2, 0, nil)
	// Without a grain, groups carry no series.
	s.Grain = GrainNone
	if bd, err = eng.ValueStreamOf(context.Background(), s, CycleSales); err != nil {
		t.Fatal(err)
	}
	for _, g := range bd.Groups {
		if len(g.Series) != 0 {
			t.Errorf("group %v has a series without a grain", g.Key)
		}
	}
}

// BenchmarkValueStreamByUnit is the lead-to-cash value stream by business unit by month: one
// request grouped by business unit with a monthly series per unit (each unit's own series from the
// same scans), against testdata/naive/valueStreamByUnit.sql.
func BenchmarkValueStreamByUnit(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope() // by business unit
	s.Grain = GrainMonth
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.ValueStreamOf(ctx, s, CycleLeadToCash); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "valueStreamByUnit", s) })
}
