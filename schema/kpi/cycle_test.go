package kpi

import (
	"context"
	"testing"
)

func TestCycleTimesFixture(t *testing.T) {
	eng, _ := newFixture(t)
	bd, err := eng.CycleTimes(context.Background(), march())
	if err != nil {
		t.Fatal(err)
	}
	c := bd.Total
	// Sales = first CS − case start, by CS in March: O1 03-10−03-01 = 9; O2 03-14−03-02 = 12;
	// O3 03-12 10:00−03-03 = 9 + 10/24; O4 03-15 09:00−03-05 = 10.375; O5 03-17−03-10 = 7.
	// Sorted 7, 9, 9.41667, 10.375, 12: p50 = 9.41667; p90 at rank 0.9·4 = 3.6 → 10.375 + 0.6·1.625
	// = 11.35; mean = 47.791667/5 = 9.558333. Previous: O9 02-08−02-01 = 7 (n 1).
	sales := 9 + 10.0/24
	checkValue(t, "sales p50", c.Sales.P50, sales, 7, 5, 1, f(sales-7))
	checkValue(t, "sales p90", c.Sales.P90, 11.35, 7, 5, 1, f(4.35))
	mean := (7 + 9 + sales + 10.375 + 12) / 5
	checkValue(t, "sales mean", c.Sales.Mean, mean, 7, 5, 1, f(mean-7))
	// Delivery = first DA − first CS: O1 10, O2 11 → p50 10.5, p90 10.9, mean 10.5; previous O9 7.
	checkValue(t, "delivery p50", c.Delivery.P50, 10.5, 7, 2, 1, f(3.5))
	checkValue(t, "delivery p90", c.Delivery.P90, 10.9, 7, 2, 1, f(3.9))
	// Cash = first CC − first INV: O1 10, O2 4 → p50 7, p90 4 + 0.9·6 = 9.4; previous O9 10.
	checkValue(t, "cash p50", c.Cash.P50, 7, 10, 2, 1, f(-3))
	checkValue(t, "cash p90", c.Cash.P90, 9.4, 10, 2, 1, f(-0.6))
	// Lead-to-cash = first CC − start: O1 30, O2 28 → mean 29, p90 29.8; previous O9 25.
	checkValue(t, "l2c mean", c.LeadToCash.Mean, 29, 25, 2, 1, f(4))
	checkValue(t, "l2c p90", c.LeadToCash.P90, 29.8, 25, 2, 1, f(4.8))
}

func TestEmptyScope(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	s := Scope{From: at("03-01").AddDate(5, 0, 0), To: at("04-01").AddDate(5, 0, 0), GroupBy: []string{"region"}, Grain: GrainWeek}
	cy, err := eng.CycleTimes(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "empty sales p50", cy.Total.Sales.P50, 0, 0, 0, 0, nil)
	if len(cy.Groups) != 0 || len(cy.Series) == 0 {
		t.Errorf("groups %d series %d", len(cy.Groups), len(cy.Series))
	}
	fu, err := eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Counts of nothing are 0 on both sides (a defined change of 0); rates are undefined.
	checkValue(t, "empty reached", fu.Total.Stages[0].Reached, 0, 0, 0, 0, f(0))
	checkValue(t, "empty fromTop", fu.Total.Stages[3].FromTop, 0, 0, 0, 0, nil)
	vs, err := eng.ValueStreamOf(ctx, s, CycleLeadToCash)
	if err != nil {
		t.Fatal(err)
	}
	if vs.Total.Bottleneck != "" {
		t.Errorf("bottleneck of nothing = %q", vs.Total.Bottleneck)
	}
	ad, err := eng.Adoption(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "empty adoption", ad.Total.Rate, 0, 0, 0, 0, nil)
	co, err := eng.Compliance(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "empty compliance", co.Total.Rate, 0, 0, 0, 0, nil)
}

func BenchmarkCycleTimes(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.CycleTimes(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "cycleTimes", s) })
}
