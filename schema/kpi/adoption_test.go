package kpi

import (
	"context"
	"errors"
	"testing"
)

func TestAdoptionFixture(t *testing.T) {
	eng, _ := newFixture(t)
	bd, err := eng.Adoption(context.Background(), march())
	if err != nil {
		t.Fatal(err)
	}
	a := bd.Total
	// Expected = non-gate stages on the branch up to the furthest reached (gates SR, CR never count):
	// O1 std → CC: 10/10; O2 complex → CC: 11/11; O3 complex → DS: LC LQ OC NA SD Q CS DS 8/8;
	// O4 std → CS: LC LQ OC NA Q CS, recorded LC OC Q CS = 4/6; O5 complex → CS: 7 expected, no SD
	// = 6/7; L6 std → LQ 2/2 (the personal call does not count); L7, O11 1/1; O8 → NA 4/4.
	// Adopted 7/9; coverage (7 + 4/6 + 6/7)/9. Previous: O9 10/10, L10 1/1 → 1 and 1.
	cov := (7 + 4.0/6 + 6.0/7) / 9
	checkValue(t, "adoption rate", a.Rate, 7.0/9, 1, 9, 2, f(7.0/9-1))
	checkValue(t, "coverage", a.Coverage, cov, 1, 9, 2, f(cov-1))
	// Template stages NA, SD, Q: O1 NA[t] Q[f] 1/2; O2 NA[t] SD[t] NA[f] SD[-] Q[t] 3/5; O3 0/3;
	// O4 Q[t] 1/1; O5 NA[t] Q[t] 2/2; O8 NA[f] 0/1 → 7/14. Previous: O9 2/2.
	checkValue(t, "template", a.Template, 0.5, 1, 14, 2, f(-0.5))
	// Past solution design (furthest after SD): O1 O2 O3 O4 O5 = 5; all three roles: O1, O3 (two
	// sales people count once) = 2/5. Previous: O9 1/1.
	checkValue(t, "iron triangle", a.IronTriangle, 0.4, 1, 5, 1, f(-0.6))
}

func TestAdoptionFrom(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	from := New(db, eng.model, Options{AdoptionFrom: "opportunity_created"})
	if err := from.Check(); err != nil {
		t.Fatal(err)
	}
	bd, err := from.Adoption(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	a := bd.Total
	// Only cases that reached opportunity_created: March O1 O2 O3 O4 O5 O8 (L6, L7 and O11 never
	// did). Adopted O1 10/10, O2 11/11, O3 8/8, O8 4/4; not O4 4/6, O5 6/7 → 4/6; coverage
	// (4 + 4/6 + 6/7)/6. Previous: O9 only (L10 is a lead) → 1/1, coverage 1.
	cov := (4 + 4.0/6 + 6.0/7) / 6
	checkValue(t, "adoption rate", a.Rate, 4.0/6, 1, 6, 1, f(4.0/6-1))
	checkValue(t, "coverage", a.Coverage, cov, 1, 6, 1, f(cov-1))
	// The lead-only cases have no template events and are not past solution design: template
	// 7/14 and iron triangle 2/5 as without the option.
	checkValue(t, "template", a.Template, 0.5, 1, 14, 2, f(-0.5))
	checkValue(t, "iron triangle", a.IronTriangle, 0.4, 1, 5, 1, f(-0.6))
	// By business unit: North O1 O2 O5 → 2/3; South O3 O4 O8 → 2/3.
	s := march()
	s.GroupBy = []string{"business_unit"}
	bd, err = from.Adoption(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Groups) != 2 {
		t.Fatalf("groups = %+v", bd.Groups)
	}
	checkValue(t, "North rate", bd.Groups[0].Result.Rate, 2.0/3, 1, 3, 1, f(2.0/3-1))
	checkValue(t, "South rate", bd.Groups[1].Result.Rate, 2.0/3, 0, 3, 0, nil)

	// An unknown stage is a configuration error, from Check and from Adoption.
	bad := New(db, eng.model, Options{AdoptionFrom: "opportunity_creatd"})
	if err := bad.Check(); !errors.Is(err, ErrConfig) || !errors.Is(err, ErrUnknownStage) {
		t.Errorf("Check = %v, want ErrConfig and ErrUnknownStage", err)
	}
	if _, err := bad.Adoption(ctx, march()); !errors.Is(err, ErrConfig) {
		t.Errorf("Adoption with a bad AdoptionFrom: %v", err)
	}
	if err := eng.Check(); err != nil {
		t.Errorf("default options: %v", err)
	}
}

func BenchmarkAdoption(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Adoption(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "adoption", s) })
}
