package kpi

import (
	"context"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

func d(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, time.UTC) }

// newCapabilityFixture: Now 2025-07-01; hires window [2025-01-01, 2025-04-01).
//
//	employee  role      unit   hired       certified   won deals (closed_at: amount)
//	T1        sales     North  2023-01-01  2024-06-01  2024-12-15: 5000 (before the window), 1000 on the
//	                                                   10th of each month Jan–Jun 2025
//	T2        sales     North  2023-06-01  —           2025-03-10: 1200; lost 2025-02-01: 9999
//	T3        sales     North  2024-01-01  2025-08-01  2025-05-05: 3000 (tenured from 2025-01-01)
//	N1        sales     North  2025-01-15  2025-03-01  2025-02-20: 300, 2025-03-20: 600, 2025-04-20: 600
//	N2        sales     South  2025-02-01  —           none
//	X         delivery  West   2025-01-10  2025-02-01  none (not a seller)
//	F1        sales     North  2025-08-01  —           hired after Now
func newCapabilityFixture(t testing.TB) *Engine {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, e := range []struct {
		id, role, bu  string
		hired, certif time.Time
	}{
		{"T1", "sales", "North", d(2023, 1, 1), d(2024, 6, 1)}, {"T2", "sales", "North", d(2023, 6, 1), time.Time{}},
		{"T3", "sales", "North", d(2024, 1, 1), d(2025, 8, 1)}, {"N1", "sales", "North", d(2025, 1, 15), d(2025, 3, 1)},
		{"N2", "sales", "South", d(2025, 2, 1), time.Time{}}, {"X", "delivery", "West", d(2025, 1, 10), d(2025, 2, 1)},
		{"F1", "sales", "North", d(2025, 8, 1), time.Time{}},
	} {
		var cert any
		if !e.certif.IsZero() {
			cert = e.certif
		}
		exec("INSERT INTO employees (employee_id, name, role, business_unit, hired_at, certified_at, _file) VALUES (?, ?, ?, ?, ?, ?, 'fx')",
			e.id, "Name "+e.id, e.role, e.bu, e.hired, cert)
	}
	n := 0
	deal := func(owner, status string, closed time.Time, amount float64) {
		n++
		exec("INSERT INTO opportunities (opportunity_id, owner_id, status, closed_at, amount, _file) VALUES (?, ?, ?, ?, ?, 'fx')",
			"O"+string(rune('A'+n/26))+string(rune('a'+n%26)), owner, status, closed, amount)
	}
	deal("T1", "won", d(2024, 12, 15), 5000)
	for m := time.January; m <= time.June; m++ {
		deal("T1", "won", d(2025, m, 10), 1000)
	}
	deal("T2", "won", d(2025, 3, 10), 1200)
	deal("T2", "lost", d(2025, 2, 1), 9999)
	deal("T3", "won", d(2025, 5, 5), 3000)
	deal("N1", "won", d(2025, 2, 20), 300)
	deal("N1", "won", d(2025, 3, 20), 600)
	deal("N1", "won", d(2025, 4, 20), 600)
	return New(db, schema.StandardModel(), Options{Now: func() time.Time { return d(2025, 7, 1) }})
}

func TestRampFixture(t *testing.T) {
	eng := newCapabilityFixture(t)
	r, err := eng.Ramp(context.Background(), d(2025, 1, 1), d(2025, 4, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Tenured means over Jan–Jun 2025 (6 complete months): T1 6000/6 = 1000, T2 1200/6 = 200,
	// T3 3000/6 = 500 → median 500, threshold 400.
	if r.TenuredSellers != 3 || r.TenuredMedian != 500 || r.Threshold != 400 {
		t.Fatalf("tenured: %d sellers, median %v, threshold %v", r.TenuredSellers, r.TenuredMedian, r.Threshold)
	}
	// N1: months [01-15, 02-15) 0, [02-15, 03-15) 300, [03-15, 04-15) 600, [04-15, 05-15) 600,
	// [05-15, 06-15) 0; the running month [06-15, 07-15) is not complete. Trailing 3-month means:
	// 0, 150, 300, 500 ≥ 400 → ramped in month 4. N2: five empty months, not ramped. X is not a seller.
	if len(r.Hires) != 2 || r.Hires[0].EmployeeID != "N1" || r.Hires[1].EmployeeID != "N2" {
		t.Fatalf("hires: %+v", r.Hires)
	}
	n1, n2 := r.Hires[0], r.Hires[1]
	if want := []float64{0, 300, 600, 600, 0}; !equalFloats(n1.Monthly, want) || n1.MonthsToRamp == nil || *n1.MonthsToRamp != 4 {
		t.Errorf("N1: %+v", n1)
	}
	if len(n2.Monthly) != 5 || n2.MonthsToRamp != nil || n2.BusinessUnit != "South" {
		t.Errorf("N2: %+v", n2)
	}
	if r.Ramped != 1 || r.MedianMonthsToRamp == nil || *r.MedianMonthsToRamp != 4 {
		t.Errorf("ramped %d, median %v", r.Ramped, r.MedianMonthsToRamp)
	}
	// Filtered to South: no tenured sellers there, so nobody can ramp.
	r, err = eng.Ramp(context.Background(), d(2025, 1, 1), d(2025, 4, 1), []string{"South"})
	if err != nil {
		t.Fatal(err)
	}
	if r.TenuredSellers != 0 || len(r.Hires) != 1 || r.Ramped != 0 || r.MedianMonthsToRamp != nil {
		t.Errorf("South: %+v", r)
	}
	if _, err := eng.Ramp(context.Background(), d(2025, 4, 1), d(2025, 1, 1), nil); err == nil {
		t.Error("reversed window accepted")
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCertificationFixture(t *testing.T) {
	eng := newCapabilityFixture(t)
	c, err := eng.Certification(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// As of 2025-07-01 (F1 not yet hired): North T1 T2 T3 N1, certified T1 N1 (T3 only in August)
	// → 2/4; South N2 → 0/1; West X → 1/1; total 3/6.
	want := []UnitCertification{{"North", 4, 2, 0.5}, {"South", 1, 0, 0}, {"West", 1, 1, 1}}
	if len(c.Units) != len(want) || c.Total != (UnitCertification{"", 6, 3, 0.5}) {
		t.Fatalf("certification: %+v", c)
	}
	for i, w := range want {
		if c.Units[i] != w {
			t.Errorf("unit %d = %+v, want %+v", i, c.Units[i], w)
		}
	}
	// Earlier: as of 2025-02-15, N1 is not yet certified and X is.
	c, err = eng.Certification(context.Background(), d(2025, 2, 15))
	if err != nil {
		t.Fatal(err)
	}
	if c.Units[0] != (UnitCertification{"North", 4, 1, 0.25}) || c.Total.Certified != 2 {
		t.Errorf("as of 02-15: %+v", c)
	}
}

func BenchmarkRamp(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := eng.Ramp(ctx, d(2024, 1, 1), d(2024, 7, 1), nil); err != nil {
			b.Fatal(err)
		}
	}
}
