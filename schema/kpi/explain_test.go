package kpi

import (
	"context"
	"errors"
	"math"
	"testing"
)

// groupsOf builds a one-dimension breakdown of a rate from (value, rate, n) per period, its total
// the n-weighted mean of the groups (as a rate over trials is).
func groupsOf(gs ...[5]float64) *Breakdown[Value] {
	bd := &Breakdown[Value]{}
	var s1, s0, n1, n0 float64
	for i, g := range gs {
		v := Value{Value: g[1], N: int64(g[2]), Previous: g[3], PreviousN: int64(g[4])}
		bd.Groups = append(bd.Groups, Group[Value]{Key: map[string]string{"region": string(rune('A' + i))}, Result: v})
		s1, n1, s0, n0 = s1+g[1]*g[2], n1+g[2], s0+g[3]*g[4], n0+g[4]
	}
	bd.Total = Value{Value: s1 / n1, N: int64(n1), Previous: s0 / n0, PreviousN: int64(n0)}
	return bd
}

// TestSplitByHand: the mix/rate split on hand-worked cases (DESIGN §5, why did it move).
func TestSplitByHand(t *testing.T) {
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Mix only: A converts 50% and B 10% in both periods; A's share of leads goes from 10/20 to
	// 16/20. r0 = 0.3, r1 = 0.8 × 0.5 + 0.2 × 0.1 = 0.42. Mix: A (0.8 − 0.5) × 0.5 = 0.15, B (0.2 −
	// 0.5) × 0.1 = −0.03, total 0.12; rate 0.
	sp := split("region", groupsOf([5]float64{0, 0.5, 16, 0.5, 10}, [5]float64{0, 0.1, 4, 0.1, 10}))
	near("mix-only mix", sp.Mix, 0.12)
	near("mix-only rate", sp.Rate, 0)
	if c := sp.Contributions[0]; c.Value != "A" {
		t.Errorf("largest contribution %+v, want A (0.15)", c)
	}
	near("mix-only A", sp.Contributions[0].Mix, 0.15)
	near("mix-only B", sp.Contributions[1].Mix, -0.03)

	// Rate only: 10 and 10 leads in both periods; A goes 50% → 70%, B stays 10%. r0 = 0.3, r1 = 0.4:
	// rate A 0.5 × 0.2 = 0.1, B 0; mix 0.
	sp = split("region", groupsOf([5]float64{0, 0.7, 10, 0.5, 10}, [5]float64{0, 0.1, 10, 0.1, 10}))
	near("rate-only mix", sp.Mix, 0)
	near("rate-only rate", sp.Rate, 0.1)

	// A new value: C appears with 5 leads at 60%; A and B keep 10 leads each at 50% and 10%.
	// r0 = 0.3, r1 = (5 + 1 + 3) / 25 = 0.36. C enters at r0: mix 0.2 × 0.3 = 0.06, rate 0.2 ×
	// (0.6 − 0.3) = 0.06; A mix (0.4 − 0.5) × 0.5 = −0.05; B (0.4 − 0.5) × 0.1 = −0.01.
	sp = split("region", groupsOf([5]float64{0, 0.5, 10, 0.5, 10}, [5]float64{0, 0.1, 10, 0.1, 10}, [5]float64{0, 0.6, 5, 0, 0}))
	near("new value mix", sp.Mix, 0)
	near("new value rate", sp.Rate, 0.06)
	for _, c := range sp.Contributions {
		if c.Value == "C" {
			near("C mix", c.Mix, 0.06)
			near("C rate", c.Rate, 0.06)
		}
	}
}

// TestExplainChangeAddsUp: on the fixture, each dimension's mix + rate is the KPI's change (to
// rounding), each contribution carries its group's numbers, and misuse is BAD_SCOPE.
func TestExplainChangeAddsUp(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	s := march()
	for _, name := range Explainable() {
		x, err := eng.ExplainChange(ctx, name, s, []string{"business_unit", "channel"})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(x.Splits) != 2 {
			t.Fatalf("%s: %d splits", name, len(x.Splits))
		}
		for _, sp := range x.Splits {
			var n int64
			for _, c := range sp.Contributions {
				n += c.N
			}
			if n != x.Value.N {
				t.Errorf("%s by %s: groups over %d, the total over %d", name, sp.Dimension, n, x.Value.N)
			}
			if x.Value.N == 0 || x.Value.PreviousN == 0 {
				continue
			}
			if d := sp.Mix + sp.Rate - (x.Value.Value - x.Value.Previous); math.Abs(d) > 1e-9 {
				t.Errorf("%s by %s: mix %v + rate %v misses the change %v by %v", name, sp.Dimension, sp.Mix, sp.Rate, x.Value.Value-x.Value.Previous, d)
			}
		}
	}
	// The sales cycle splits on its mean and reports each value's own median beside it.
	x, err := eng.ExplainChange(ctx, "sales_cycle", s, []string{"business_unit"})
	if err != nil {
		t.Fatal(err)
	}
	bs := s
	bs.GroupBy = []string{"business_unit"}
	ct, err := eng.CycleTimes(ctx, bs)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, g := range ct.Groups {
		for _, c := range x.Splits[0].Contributions {
			if c.Value != g.Key["business_unit"] || g.Result.Sales.P50.N == 0 {
				continue
			}
			checked++
			if c.Median == nil || *c.Median != g.Result.Sales.P50.Value {
				t.Errorf("sales cycle median of %s = %v, cycle times say %v", c.Value, c.Median, g.Result.Sales.P50.Value)
			}
		}
	}
	if checked == 0 {
		t.Error("no business unit has a sales cycle in March: the median check checked nothing")
	}
	if x, err := eng.ExplainChange(ctx, "win_rate", s, []string{"business_unit"}); err != nil || x.Splits[0].Contributions[0].Median != nil {
		t.Errorf("a rate carries a median: %+v, %v", x, err)
	}
	for _, bad := range []struct {
		kpi  string
		dims []string
	}{{"billed", []string{"region"}}, {"win_rate", nil}, {"win_rate", []string{"colour"}}, {"win_rate", []string{"region", "region"}}} {
		if _, err := eng.ExplainChange(ctx, bad.kpi, s, bad.dims); !errors.Is(err, ErrBadScope) {
			t.Errorf("%s by %v: %v, want ErrBadScope", bad.kpi, bad.dims, err)
		}
	}
}
