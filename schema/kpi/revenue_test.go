package kpi

import (
	"context"
	"testing"
)

func TestWonValue(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	// The fixture's opportunities carry no amount; give the won ones some.
	for _, a := range []struct {
		id     string
		amount float64
	}{{"O1", 100}, {"O2", 250}, {"O3", 50}, {"O4", 10}, {"O5", 0}, {"O8", 999}, {"O9", 70}} {
		if _, err := db.Write.ExecContext(ctx, "UPDATE opportunities SET amount = ? WHERE opportunity_id = ?", a.amount, a.id); err != nil {
			t.Fatal(err)
		}
	}
	refresh(t, eng, db)
	s := march()
	s.GroupBy = []string{"team"}
	bd, err := eng.WonValue(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// Won and closed in March: O1 100 (03-10), O2 250 (03-14), O3 50 (03-12), O4 10 (03-15), O5 0
	// (03-17) = 410 over 5 deals; O8 is lost (its 999 does not count). Previous [01-29, 03-01): O9 70.
	checkValue(t, "total", bd.Total, 410, 70, 5, 1, f(340))
	// Teams: Alpha = E1 (O1, O4, O5; O9 before) + E3 (O3) = 160 over 4, previous 70 over 1;
	// Beta = E2 (O2) 250 over 1, previous nothing: 0 over 0, still a defined sum (change 250).
	if len(bd.Groups) != 2 {
		t.Fatalf("%d groups, want 2: %+v", len(bd.Groups), bd.Groups)
	}
	checkValue(t, "Alpha", bd.Groups[0].Result, 160, 70, 4, 1, f(90))
	checkValue(t, "Beta", bd.Groups[1].Result, 250, 0, 1, 0, f(250))
	if bd.Groups[0].Key["team"] != "Alpha" || bd.Groups[1].Key["team"] != "Beta" {
		t.Errorf("keys = %v, %v", bd.Groups[0].Key, bd.Groups[1].Key)
	}
}

func BenchmarkWonValue(b *testing.B) {
	eng, _ := newFixture(b)
	ctx := context.Background()
	s := march()
	s.GroupBy = []string{"team"}
	for b.Loop() {
		if _, err := eng.WonValue(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
}
