package kpi

import (
	"context"
	"testing"
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
