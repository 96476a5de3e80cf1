package kpi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestDemoSalesCycleBottleneck checks the product's headline on the demo data: over the baseline
// (every unit, before the pilot starts), solution design is the bottleneck of the sales cycle
// (case start → first contract signed) with about a third of its time (the generator's story:
// ≈35% on complex deals, ≈30% overall), while the lead-to-cash value stream's is elsewhere.
func TestDemoSalesCycleBottleneck(t *testing.T) {
	eng, sum := loadDemo(t)
	ctx := context.Background()
	s := kpi.Scope{From: sum.Start, To: sum.PilotStart}
	sales, err := eng.ValueStreamOf(ctx, s, kpi.CycleSales)
	if err != nil {
		t.Fatal(err)
	}
	l2c, err := eng.ValueStreamOf(ctx, s, kpi.CycleLeadToCash)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sales cycle over %d cases, bottleneck %s; lead-to-cash over %d cases, bottleneck %s\n",
		int64(sales.Total.Cases.Value), sales.Total.Bottleneck, int64(l2c.Total.Cases.Value), l2c.Total.Bottleneck)
	share := -1.0
	for i, st := range sales.Total.Stages {
		if st.Share.Value > 0 || l2c.Total.Stages[i].Share.Value > 0 {
			fmt.Fprintf(&b, "  %-18s sales %5.1f%%  lead-to-cash %5.1f%%\n", st.Stage, 100*st.Share.Value, 100*l2c.Total.Stages[i].Share.Value)
		}
		if st.Stage == "solution_design" {
			share = st.Share.Value
		}
	}
	t.Log(b.String())
	if sales.Total.Bottleneck != "solution_design" {
		t.Errorf("sales-cycle bottleneck = %q, want solution_design", sales.Total.Bottleneck)
	}
	if share < 0.25 || share > 0.45 {
		t.Errorf("solution design share of the sales cycle = %.3f, want 0.25..0.45", share)
	}
	if sales.Total.Cases.Value < 100 {
		t.Errorf("sales-cycle cohort = %v cases, too few to judge", sales.Total.Cases.Value)
	}
}
