package kpi

import (
	"context"
	"testing"
)

// TestGroupSeries: with groupBy and a grain, each group carries its own series from the same scan,
// over the breakdown's buckets, each point compared with the group's bucket before.
func TestGroupSeries(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	// Four West leads created in the ISO week of 2025-03-03: L20 and L21 converted, L22 and L23 not.
	for _, l := range []struct{ id, created, status string }{
		{"L20", "03-05", "converted"}, {"L21", "03-06", "converted"}, {"L22", "03-07", "open"}, {"L23", "03-08", "open"},
	} {
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO leads (lead_id, created_at, business_unit, status, _file)
			VALUES (?, ?, 'West', ?, 'fixture')`, l.id, at(l.created), l.status); err != nil {
			t.Fatal(err)
		}
	}
	refresh(t, eng, db)
	s := march()
	s.GroupBy = []string{"business_unit"}
	s.Grain = GrainWeek
	bd, err := eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var west *Group[Value]
	for i := range bd.Groups {
		if bd.Groups[i].Key["business_unit"] == "West" {
			west = &bd.Groups[i]
		}
	}
	if west == nil {
		t.Fatalf("no West group in %+v", bd.Groups)
	}
	// The breakdown's weeks overlapping March: 02-24, 03-03, 03-10, 03-17, 03-24, 03-31.
	if len(west.Series) != len(bd.Series) || len(bd.Series) != 6 {
		t.Fatalf("West has %d points, the breakdown %d, want 6 each", len(west.Series), len(bd.Series))
	}
	for i, p := range west.Series {
		if !p.Start.Equal(bd.Series[i].Start) {
			t.Errorf("West point %d starts %v, the breakdown's %v", i, p.Start, bd.Series[i].Start)
		}
		want, n := 0.0, int64(0)
		if p.Start.Equal(at("03-03")) {
			want, n = 0.5, 4 // 2 of 4
		}
		if p.Result.Value != want || p.Result.N != n {
			t.Errorf("West week %s = %v (n %d), want %v (n %d)", p.Start.Format("01-02"), p.Result.Value, p.Result.N, want, n)
		}
	}
	// The week after compares with it: previous 0.5 over 4 leads.
	if p := west.Series[2].Result; p.Previous != 0.5 || p.PreviousN != 4 {
		t.Errorf("West week 03-10 previous = %v (n %d), want 0.5 (n 4)", p.Previous, p.PreviousN)
	}
	// Without a grain, groups carry no series.
	s.Grain = GrainNone
	if bd, err = eng.LeadConversion(ctx, s); err != nil {
		t.Fatal(err)
	}
	for _, g := range bd.Groups {
		if len(g.Series) != 0 {
			t.Errorf("group %v has a series without a grain", g.Key)
		}
	}
}
