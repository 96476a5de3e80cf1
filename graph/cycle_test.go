package graph

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

// TestCycleMedianIntervalAPI: p50Days carries its order-statistics 95% interval through the API.
// To the KPI fixture add twenty cases M01…M20 that start 05-01 and are won 2·i days later (2, 4,
// …, 40 days). Over [05-01, 07-01): n = 20, median (20 + 22) / 2 = 21; 0.98·√20 = 4.3827, so
// j = ⌊10 − 4.3827⌋ = 5 and k = ⌈1 + 10 + 4.3827⌉ = 16: low = x(5) = 10, high = x(16) = 32 days.
// p90 and the mean carry no interval. March's sales cycles (A1 03-01 → 03-11 = 10 days, A2 03-02 →
// 03-06 = 4 days) are n = 2 < 6: no interval.
func TestCycleMedianIntervalAPI(t *testing.T) {
	db, eng := newKPIFixture(t)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		c := fmt.Sprintf("M%02d", i)
		for j, ev := range []struct{ stage, act string }{{"lead_created", "Lead Created"}, {"contract_signed", "Contract Signed"}} {
			if _, err := db.Write.ExecContext(ctx, `INSERT INTO stage_events (case_id, stage, activity, occurred_at, source, seq, _file)
				VALUES (?, ?, ?, ?, 'fx', ?, 'fx')`, c, ev.stage, ev.act, day("05-01").AddDate(0, 0, 2*i*j), 1000+2*i+j); err != nil {
				t.Fatal(err)
			}
		}
	}
	testwarehouse.Refresh(t, db, eng)
	type val struct {
		Value     float64
		N         int
		Low, High *float64
	}
	var resp struct {
		May, March struct {
			Total struct {
				Sales struct{ P50Days, P90Days, MeanDays val }
			}
		}
	}
	c := client.New(kpiHandler(db, eng))
	c.MustPost(`{
		may: cycleTimes(scope: {from: "2025-05-01T00:00:00Z", to: "2025-07-01T00:00:00Z"}) { total { sales { p50Days { value n low high } p90Days { value n low high } meanDays { value n low high } } } }
		march: cycleTimes(scope: `+march+`}) { total { sales { p50Days { value n low high } } } }
	}`, &resp)
	p50 := resp.May.Total.Sales.P50Days
	if p50.Value != 21 || p50.N != 20 || p50.Low == nil || p50.High == nil {
		t.Fatalf("May p50 = %+v, want 21 over 20 with an interval", p50)
	}
	if math.Abs(*p50.Low-10) > 1e-9 || math.Abs(*p50.High-32) > 1e-9 {
		t.Errorf("May p50 interval = %v…%v, want 10…32", *p50.Low, *p50.High)
	}
	if s := resp.May.Total.Sales; s.P90Days.Low != nil || s.MeanDays.High != nil {
		t.Errorf("p90 %+v / mean %+v carry an interval", s.P90Days, s.MeanDays)
	}
	if m := resp.March.Total.Sales.P50Days; m.N != 2 || m.Value != 7 || m.Low != nil || m.High != nil {
		t.Errorf("March p50 = %+v, want 7 over 2 without an interval", m)
	}
}
