package kpi

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"
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
		loopCPU(b, func() {
			if _, err := eng.CycleTimes(ctx, s); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("naive", func(b *testing.B) { naive(b, "cycleTimes", s) })
}

// TestCycleMedianInterval: the sales cycle's median carries its order-statistics 95% interval.
// Twenty cases M01…M20 start 05-01 and are won 2·i days later (2, 4, …, 40 days), all in the scope
// [05-01, 07-01). n = 20: 0.98·√20 = 4.3827, j = ⌊10 − 4.3827⌋ = ⌊5.617⌋ = 5 and
// k = ⌈1 + 10 + 4.3827⌉ = ⌈15.383⌉ = 16, so the bounds are x(5) = 10 and x(16) = 32 days around the
// median (x(10) + x(11)) / 2 = (20 + 22) / 2 = 21. The previous period [03-01, 05-01) holds the
// fixture's five March sales cycles (p50 9.41667, see TestCycleTimesFixture): n = 5 < 6, so no
// interval there, and none for the March total either.
func TestCycleMedianInterval(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		c := fmt.Sprintf("M%02d", i)
		for _, ev := range []struct {
			act string
			at  time.Time
		}{{"Lead Created", at("05-01")}, {"Contract Signed", at("05-01").AddDate(0, 0, 2*i)}} {
			if _, err := db.Write.ExecContext(ctx, `INSERT INTO stage_events (case_id, stage, activity, occurred_at, source, seq, _file)
				VALUES (?, ?, ?, ?, 'fixture', ?, 'fixture')`, c, eng.model.StageOf(ev.act), ev.act, ev.at, 5000+i); err != nil {
				t.Fatal(err)
			}
		}
	}
	refresh(t, eng, db)
	bd, err := eng.CycleTimes(ctx, Scope{From: at("05-01"), To: at("07-01")})
	if err != nil {
		t.Fatal(err)
	}
	p50 := bd.Total.Sales.P50
	checkValue(t, "sales p50", p50, 21, 9+10.0/24, 20, 5, f(21-(9+10.0/24)))
	if p50.Low == nil || p50.High == nil {
		t.Fatal("sales p50 over n = 20 has no interval")
	}
	if math.Abs(*p50.Low-10) > eps || math.Abs(*p50.High-32) > eps {
		t.Errorf("sales p50 interval = %v…%v, want 10…32", *p50.Low, *p50.High)
	}
	if bd.Total.Sales.P90.Low != nil || bd.Total.Sales.Mean.Low != nil {
		t.Error("p90 and mean carry an interval; only the median has one")
	}
	bd, err = eng.CycleTimes(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	if p := bd.Total.Sales.P50; p.N != 5 || p.Low != nil || p.High != nil {
		t.Errorf("March sales p50 over n = %d has an interval (low %v, high %v), want n 5 and none", p.N, p.Low != nil, p.High != nil)
	}
}

// TestMedianIntervalRanks: the ranks medianSQL indexes, worked out by hand for small n, through
// DuckDB. n = 6: 0.98·√6 = 2.4005, j = ⌊3 − 2.4005⌋ = 0 → clamped 1, k = ⌈6.4005⌉ = 7 → clamped 6:
// the sample's range. n = 10: 0.98·√10 = 3.0990, j = ⌊1.901⌋ = 1, k = ⌈9.099⌉ = 10. n = 100:
// 0.98·10 = 9.8, j = ⌊40.2⌋ = 40, k = ⌈60.8⌉ = 61. The values are the ranks themselves (1…n), so
// the median is (n + 1) / 2.
func TestMedianIntervalRanks(t *testing.T) {
	eng, _ := newFixture(t)
	for _, c := range []struct{ n, lo, hi int }{{6, 1, 6}, {10, 1, 10}, {100, 40, 61}} {
		m := medianSQL("x")
		var p50, lo, hi float64
		q := fmt.Sprintf("SELECT %s, %s, %s FROM range(1, ?) t(x)", m[0], m[1], m[2])
		if err := eng.db.Read.QueryRowContext(context.Background(), q, c.n+1).Scan(&p50, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if want := float64(c.n+1) / 2; p50 != want || lo != float64(c.lo) || hi != float64(c.hi) {
			t.Errorf("n %d: median %v interval %v…%v, want %v and %d…%d", c.n, p50, lo, hi, want, c.lo, c.hi)
		}
	}
}
