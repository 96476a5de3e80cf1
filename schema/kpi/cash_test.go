package kpi

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

func TestCashFixture(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.Cash(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	c := bd.Total
	// March: billed I1 1000 + I2 500 + I3 200 = 1700 (3 invoices); collected P1 600 + P2 500 +
	// P9b 500 = 1600 (3 payments). AR(04-01) = invoiced 2500 − paid 1900 = 600 (I1 400, I3 200),
	// over the 4 invoices issued by then; overdue (due before 04-01): I3 200 → 1/3.
	// DSO = 600/1700 × 31; collection rate = (600 + 500)/1700.
	// Previous [01-29, 03-01): billed I9 800; collected P9a 300; AR(03-01) = 500, all overdue (due
	// 02-20); DSO = 500/800 × 31 = 19.375; collection rate 300/800.
	checkValue(t, "billed", c.Billed, 1700, 800, 3, 1, f(900))
	checkValue(t, "collected", c.Collected, 1600, 300, 3, 1, f(1300))
	checkValue(t, "receivables", c.Receivables, 600, 500, 4, 1, f(100))
	checkValue(t, "overdue share", c.OverdueShare, 1.0/3, 1, 4, 1, f(1.0/3-1))
	checkValue(t, "dso", c.DSO, 600.0/1700*31, 19.375, 3, 1, f(600.0/1700*31-19.375))
	checkValue(t, "collection rate", c.CollectionRate, 1100.0/1700, 0.375, 3, 1, f(1100.0/1700-0.375))

	// By business unit: North (O1, O2, O9) billed 1500, South (O3) 200 with AR 200, all overdue.
	s := march()
	s.GroupBy = []string{"business_unit"}
	s.Grain = GrainMonth
	bd, err = eng.Cash(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Groups) != 2 {
		t.Fatalf("groups = %+v", bd.Groups)
	}
	checkValue(t, "North billed", bd.Groups[0].Result.Billed, 1500, 800, 2, 1, f(700))
	checkValue(t, "South AR", bd.Groups[1].Result.Receivables, 200, 0, 1, 0, f(200))
	// MONTH series: March equals the total; its previous is February [02-01, 03-01), which here
	// matches the previous period (billed 800, AR 500, DSO 500/800 × 28 = 17.5 with February's 28 days).
	if len(bd.Series) != 1 {
		t.Fatalf("series = %+v", bd.Series)
	}
	checkValue(t, "Mar DSO", bd.Series[0].Result.DSO, 600.0/1700*31, 17.5, 3, 1, f(600.0/1700*31-17.5))
}

// TestCashGroupSeries: with a grain, each business unit carries its own monthly series, the
// breakdown's buckets. Scope [02-01, 04-01) by month; receivables are measured at each bucket's end.
// North (I9 02-16 800, paid 300 on 02-26 and 500 on 03-05; I1 03-21 1000, paid 600 on 03-31;
// I2 03-26 500, paid 500 on 03-30):
//
//	Feb: billed 800 (1 invoice), collected 300 (1), AR(03-01) = 800 − 300 = 500 over 1 invoice,
//	     DSO = 500/800 × 28 = 17.5; previous (January) billed 0 over 0.
//	Mar: billed 1000 + 500 = 1500 (2), collected 500 + 600 + 500 = 1600 (3),
//	     AR(04-01) = 2300 − 1900 = 400 over 3 invoices, DSO = 400/1500 × 31; previous = February.
//
// South (I3 03-13 200, due 03-20, unpaid): Feb billed 0 over 0, AR 0; Mar billed 200 (1),
// collected 0, AR 200 over 1, all overdue (share 1), DSO = 200/200 × 31 = 31 (previous undefined:
// nothing billed in February).
func TestCashGroupSeries(t *testing.T) {
	eng, _ := newFixture(t)
	s := Scope{From: at("02-01"), To: at("04-01"), GroupBy: []string{"business_unit"}, Grain: GrainMonth}
	bd, err := eng.Cash(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Groups) != 2 || bd.Groups[0].Key["business_unit"] != "North" || bd.Groups[1].Key["business_unit"] != "South" {
		t.Fatalf("groups = %+v", bd.Groups)
	}
	north, south := bd.Groups[0].Series, bd.Groups[1].Series
	if len(north) != 2 || len(south) != 2 || !north[1].Start.Equal(at("03-01")) || !south[0].Start.Equal(at("02-01")) {
		t.Fatalf("series: North %d points, South %d, want 2 each (Feb, Mar)", len(north), len(south))
	}
	feb, mar := north[0].Result, north[1].Result
	checkValue(t, "North Feb billed", feb.Billed, 800, 0, 1, 0, f(800))
	checkValue(t, "North Feb collected", feb.Collected, 300, 0, 1, 0, f(300))
	checkValue(t, "North Feb AR", feb.Receivables, 500, 0, 1, 0, f(500))
	checkValue(t, "North Feb DSO", feb.DSO, 17.5, 0, 1, 0, nil)
	checkValue(t, "North Mar billed", mar.Billed, 1500, 800, 2, 1, f(700))
	checkValue(t, "North Mar collected", mar.Collected, 1600, 300, 3, 1, f(1300))
	checkValue(t, "North Mar AR", mar.Receivables, 400, 500, 3, 1, f(-100))
	checkValue(t, "North Mar DSO", mar.DSO, 400.0/1500*31, 17.5, 2, 1, f(400.0/1500*31-17.5))
	checkValue(t, "South Feb billed", south[0].Result.Billed, 0, 0, 0, 0, f(0))
	checkValue(t, "South Feb AR", south[0].Result.Receivables, 0, 0, 0, 0, f(0))
	checkValue(t, "South Mar billed", south[1].Result.Billed, 200, 0, 1, 0, f(200))
	checkValue(t, "South Mar collected", south[1].Result.Collected, 0, 0, 0, 0, f(0))
	checkValue(t, "South Mar AR", south[1].Result.Receivables, 200, 0, 1, 0, f(200))
	checkValue(t, "South Mar overdue", south[1].Result.OverdueShare, 1, 0, 1, 0, nil)
	checkValue(t, "South Mar DSO", south[1].Result.DSO, 31, 0, 1, 0, nil)
}

// TestCashAgeingAndRunningDSO: receivables split by days past due, and DSO over the days of a
// running period that have elapsed (not the whole period).
func TestCashAgeingAndRunningDSO(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	ageing := func(name string, got Ageing, want, prev [5]float64) {
		t.Helper()
		for i, v := range []Value{got.NotDue, got.PastDue0To30, got.PastDue31To60, got.PastDue61To90, got.PastDueOver90} {
			if math.Abs(v.Value-want[i]) > 1e-9 || math.Abs(v.Previous-prev[i]) > 1e-9 {
				t.Errorf("%s bucket %d = %v (prev %v), want %v (prev %v)", name, i, v.Value, v.Previous, want[i], prev[i])
			}
		}
	}
	// March, measured at 04-01: I1's unpaid 400 is due 04-20 (not due); I3's 200 was due 03-20,
	// 12 days before (0–30); I2 (500 − 500, due 03-28) and I9 (800 − 300 − 500, due 02-20) are
	// paid, 0 in their buckets. Previous period at 03-01: I9's 500 due 02-20, 9 days past (0–30).
	bd, err := eng.Cash(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	ageing("March", bd.Total.Ageing, [5]float64{400, 200, 0, 0, 0}, [5]float64{0, 500, 0, 0, 0})
	// May at 06-01: I1 (due 04-20) 42 days past due (31–60), I3 (due 03-20) 73 days (61–90).
	// April at 05-01: I1 11 days (0–30), I3 42 days (31–60).
	bd, err = eng.Cash(ctx, Scope{From: at("05-01"), To: at("06-01")})
	if err != nil {
		t.Fatal(err)
	}
	ageing("May", bd.Total.Ageing, [5]float64{0, 0, 400, 200, 0}, [5]float64{0, 400, 200, 0, 0})

	// Measured on 07-15 (a running July): I3 is 117 days past due (over 90), I1 86 days (61–90).
	late := New(db, schema.StandardModel(), Options{SprintAnchor: at("03-03"), Now: func() time.Time { return at("07-15") }})
	bd, err = late.Cash(ctx, Scope{From: at("07-01"), To: at("08-01")})
	if err != nil {
		t.Fatal(err)
	}
	ageing("July", bd.Total.Ageing, [5]float64{0, 0, 0, 400, 200}, [5]float64{0, 0, 0, 400, 200})

	// A running March measured on 03-27: billed I3 200 + I1 1000 + I2 500 = 1700 (3 invoices);
	// AR(03-27) = invoiced I9 800 + 1700 − paid P9a 300 + P9b 500 = 1700; 26 days of March have
	// elapsed, so DSO = 1700 / 1700 × 26 = 26 days (not × 31). Its ISO week [03-24, 03-31) on
	// 03-27: billed I2 500, AR 1700, 3 days elapsed → DSO 1700 / 500 × 3 = 10.2, partial.
	running := New(db, schema.StandardModel(), Options{SprintAnchor: at("03-03"), Now: func() time.Time { return at("03-27") }})
	s := march()
	s.Grain = GrainWeek
	bd, err = running.Cash(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "running DSO", bd.Total.DSO, 26, 19.375, 3, 1, f(26-19.375))
	var wk *Point[Cash]
	for i := range bd.Series {
		if bd.Series[i].Start.Equal(at("03-24")) {
			wk = &bd.Series[i]
		}
	}
	if wk == nil || wk.Complete {
		t.Fatalf("week of 03-24 = %+v, want a partial bucket", wk)
	}
	if got := wk.Result.DSO; math.Abs(got.Value-10.2) > 1e-9 || got.N != 1 {
		t.Errorf("week of 03-24 DSO = %v (n %d), want 10.2 (n 1)", got.Value, got.N)
	}
}

func BenchmarkCash(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Cash(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "cash", s) })
	b.Run("monthly", func(b *testing.B) {
		m := s
		m.Grain = GrainMonth
		for b.Loop() {
			if _, err := eng.Cash(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
