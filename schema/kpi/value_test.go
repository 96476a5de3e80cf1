package kpi

import (
	"context"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

// TestMinSampleConfigurable: lowSample follows the engine's minimum n on totals, groups and buckets.
// March lead conversion is over 9 leads: low under the default 30, not under a minimum of 5; by
// business unit, a unit with fewer than 5 leads stays low.
func TestMinSampleConfigurable(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	s := march()
	s.GroupBy, s.Grain = []string{"business_unit"}, GrainMonth
	bd, err := eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Total.N != 9 || !bd.Total.LowSample {
		t.Errorf("default minimum: total n %d lowSample %v, want 9 and true", bd.Total.N, bd.Total.LowSample)
	}
	five := New(db, schema.StandardModel(), Options{SprintAnchor: at("03-03"), Now: eng.opts.Now, MinSample: 5})
	bd, err = five.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Total.LowSample {
		t.Errorf("minimum 5: the total over %d leads is lowSample", bd.Total.N)
	}
	groups := 0
	for _, g := range bd.Groups {
		groups++
		if g.Result.LowSample != (g.Result.N < 5) {
			t.Errorf("minimum 5: group %v over %d leads lowSample %v", g.Key, g.Result.N, g.Result.LowSample)
		}
		for _, p := range g.Series {
			if p.Result.LowSample != (p.Result.N < 5) {
				t.Errorf("minimum 5: group %v bucket %v over %d leads lowSample %v", g.Key, p.Start, p.Result.N, p.Result.LowSample)
			}
		}
	}
	if groups == 0 {
		t.Error("no business-unit groups")
	}
}
