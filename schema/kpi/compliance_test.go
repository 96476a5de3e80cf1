package kpi

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestComplianceFixture(t *testing.T) {
	eng, _ := newFixture(t)
	bd, err := eng.Compliance(context.Background(), march())
	if err != nil {
		t.Fatal(err)
	}
	c := bd.Total
	if len(c.Gates) != 2 || c.Gates[0].Gate != "solution_review" || c.Gates[1].Gate != "contract_review" {
		t.Fatalf("gates = %+v", c.Gates)
	}
	// solution_review guards quote, complex branch only (O2, O3 by product, O5 by the branch set on
	// its opportunity): O2 failed 03-10 then passed 03-11 before Q 03-12 → compliant; O3 and O5 have
	// no review → missing. Entered 3, compliant 1; no complex case in the previous period.
	sr := c.Gates[0]
	checkValue(t, "sr entered", sr.Entered, 3, 0, 3, 0, f(3))
	checkValue(t, "sr rate", sr.Rate, 1.0/3, 0, 3, 0, nil)
	checkValue(t, "sr missing", sr.Missing, 2, 0, 3, 0, f(2))
	checkValue(t, "sr failed", sr.Failed, 0, 0, 3, 0, f(0))
	// contract_review guards contract_signed: O1 pass 03-09 < CS 03-10 compliant; O2 pass 03-15
	// after CS 03-14 → late; O3 pass and CS both 03-12 10:00, review seq 7 < 8 → compliant;
	// O4 CS seq 5 before review seq 6 at the same time → late; O5 failed 03-16, CS 03-17, never
	// passed → failed. Entered 5, compliant 2. Previous: O9 compliant, 1/1.
	cr := c.Gates[1]
	checkValue(t, "cr entered", cr.Entered, 5, 1, 5, 1, f(4))
	checkValue(t, "cr rate", cr.Rate, 0.4, 1, 5, 1, f(-0.6))
	checkValue(t, "cr late", cr.Late, 2, 0, 5, 1, f(2))
	checkValue(t, "cr failed", cr.Failed, 1, 0, 5, 1, f(1))
	checkValue(t, "cr missing", cr.Missing, 0, 0, 5, 1, f(0))
	// Overall, by first entry of any guarded stage: O1 (03-10), O2 (Q 03-12), O3 (Q 03-09),
	// O4 (CS 03-15; quote is unguarded on standard), O5 (Q 03-14) = 5; only O1 has no violation.
	// Previous: O9, 1/1.
	checkValue(t, "compliance rate", c.Rate, 0.2, 1, 5, 1, f(-0.8))
	// Promise kept: D1 03-20 ≤ committed 03-22 kept, D2 03-25 > 03-20 not = 1/2; previous D9 1/1.
	checkValue(t, "promise kept", c.PromiseKept, 0.5, 1, 2, 1, f(-0.5))
}

func TestViolationsPaging(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	// March violations by (entry, case, gate): O3 SR missing 03-09; O2 CR late 03-14;
	// O5 SR missing 03-14; O4 CR late 03-15 09:00; O5 CR failed 03-17.
	want := []struct {
		c, g, kind string
		at         time.Time
	}{
		// Newest first (entry time, then case and gate descending).
		{"O5", "contract_review", "failed", at("03-17")}, {"O4", "contract_review", "late", at("03-15 09:00:00")},
		{"O5", "solution_review", "missing", at("03-14")}, {"O2", "contract_review", "late", at("03-14")},
		{"O3", "solution_review", "missing", at("03-09")},
	}
	var got []ViolationRow
	after := ""
	for pages := 0; ; pages++ {
		p, err := eng.Violations(ctx, march(), 2, after)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Rows...)
		if !p.HasNextPage {
			if pages != 2 {
				t.Errorf("pages = %d, want 3", pages+1)
			}
			break
		}
		after = p.EndCursor
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i, w := range want {
		g := got[i]
		if g.CaseID != w.c || g.Gate != w.g || g.Kind != w.kind || !g.EnteredAt.Equal(w.at) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if got[4].BusinessUnit != "South" || got[4].Owner != "E3" || got[4].OwnerName != "Cleo Three" {
		t.Errorf("O3 attributes = %+v", got[4])
	}
	if _, err := eng.Violations(ctx, march(), 2, "not-a-cursor"); err == nil {
		t.Error("bad cursor accepted")
	}
}

// TestViolationsOrdered pages through March's five violations (listed in TestViolationsPaging) in
// other orders, two rows a page; ties follow the entry time, case and gate in the same direction.
func TestViolationsOrdered(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	list := func(o ViolationOrder) []string {
		t.Helper()
		var out []string
		after := ""
		for {
			p, err := eng.ViolationsOrdered(ctx, march(), o, 2, after)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Rows {
				out = append(out, r.CaseID+"/"+r.Gate[:1]+r.Kind[:1])
			}
			if !p.HasNextPage {
				return out
			}
			after = p.EndCursor
		}
	}
	for _, c := range []struct {
		o    ViolationOrder
		want string
	}{
		// failed < late < missing; within a kind oldest first (O2 03-14 before O4 03-15).
		{ViolationOrder{By: SortKind, Asc: true}, "O5/cf O2/cl O4/cl O3/sm O5/sm"},
		{ViolationOrder{By: SortKind}, "O5/sm O3/sm O4/cl O2/cl O5/cf"},
		// Gates in model order: solution review before contract review.
		{ViolationOrder{By: SortGate, Asc: true}, "O3/sm O5/sm O2/cl O4/cl O5/cf"},
		// Oldest first: at 03-14 O2 before O5 (case order).
		{ViolationOrder{By: SortEnteredAt, Asc: true}, "O3/sm O2/cl O5/sm O4/cl O5/cf"},
		{ViolationOrder{}, "O5/cf O4/cl O5/sm O2/cl O3/sm"},
	} {
		if got := strings.Join(list(c.o), " "); got != c.want {
			t.Errorf("%+v: %s, want %s", c.o, got, c.want)
		}
	}
	p, err := eng.ViolationsOrdered(ctx, march(), ViolationOrder{By: SortKind}, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Violations(ctx, march(), 2, p.EndCursor); !errors.Is(err, ErrBadCursor) {
		t.Errorf("a KIND cursor continuing the newest-first order: %v, want ErrBadCursor", err)
	}
	if _, err := eng.ViolationsOrdered(ctx, march(), ViolationOrder{By: "x; DROP"}, 2, ""); !errors.Is(err, ErrBadScope) {
		t.Errorf("unknown order: %v", err)
	}
}

func BenchmarkCompliance(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Compliance(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "compliance", s) })
	b.Run("violations", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Violations(ctx, s, 50, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
}
