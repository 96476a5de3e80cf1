package kpi

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestRowScopeEveryEntryPoint runs every entry point of the engine three ways on the fixture and
// compares: under a row scope of North (or of region US, which is South's), the answer equals the
// unscoped answer with the scope filtered to that unit (or region); with a contradicting filter it
// is empty; and an unscoped caller, asking first and last, still sees everything (the cache keeps
// them apart).
func TestRowScopeEveryEntryPoint(t *testing.T) {
	eng, db := newFixture(t)
	bg := context.Background()
	if _, err := db.Write.ExecContext(bg, `INSERT INTO marketing_spend VALUES
		(DATE '2025-03-01', DATE '2025-03-31', 'Web', 'North', 310, 'fx'), (DATE '2025-03-01', DATE '2025-03-31', 'Web', 'South', 620, 'fx')`); err != nil {
		t.Fatal(err)
	}
	window := 5
	type entry struct {
		name string
		run  func(ctx context.Context, s Scope) (any, error)
	}
	bd := func(v any, err error) (any, error) { return v, err }
	entries := []entry{
		{"Funnel", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Funnel(ctx, s, nil)) }},
		{"Funnel window", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Funnel(ctx, s, &window)) }},
		{"LeadConversion", func(ctx context.Context, s Scope) (any, error) { return bd(eng.LeadConversion(ctx, s)) }},
		{"WinRate", func(ctx context.Context, s Scope) (any, error) { return bd(eng.WinRate(ctx, s)) }},
		{"WonValue", func(ctx context.Context, s Scope) (any, error) { return bd(eng.WonValue(ctx, s)) }},
		{"CycleTimes", func(ctx context.Context, s Scope) (any, error) { return bd(eng.CycleTimes(ctx, s)) }},
		{"ValueStream", func(ctx context.Context, s Scope) (any, error) { return bd(eng.ValueStreamOf(ctx, s, CycleLeadToCash)) }},
		{"ValueStreamOf sales", func(ctx context.Context, s Scope) (any, error) { return bd(eng.ValueStreamOf(ctx, s, CycleSales)) }},
		{"Variants", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Variants(ctx, s, 50)) }},
		{"Adoption", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Adoption(ctx, s)) }},
		{"Compliance", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Compliance(ctx, s)) }},
		{"Violations", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Violations(ctx, s, 100, "")) }},
		{"Cash", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Cash(ctx, s)) }},
		{"Cases", func(ctx context.Context, s Scope) (any, error) { return bd(eng.Cases(ctx, s, CaseFilter{}, 100, "")) }},
		{"Diagnose", func(ctx context.Context, s Scope) (any, error) {
			d, err := eng.Diagnose(ctx, s)
			if d != nil {
				d.Scope = Scope{} // it echoes the filters
			}
			return d, err
		}},
	}
	base := march()
	base.Grain = GrainWeek
	with := func(dim string, vs ...string) Scope {
		s := base
		s.Filters = map[string][]string{dim: vs}
		return s
	}
	cases := []struct {
		name        string
		rs          RowScope
		dim, inside string
		outside     string
	}{
		{"business unit", RowScope{BusinessUnits: []string{"North"}}, "business_unit", "North", "South"},
		{"region", RowScope{Regions: []string{"US"}}, "region", "US", "EU"},
	}
	for _, en := range entries {
		t.Run(en.name, func(t *testing.T) {
			all, err := en.run(bg, base)
			if err != nil {
				t.Fatal(err)
			}
			differs := 0
			for _, c := range cases {
				scoped := WithRowScope(bg, c.rs)
				got, err := en.run(scoped, base)
				if err != nil {
					t.Fatal(err)
				}
				want, err := en.run(bg, with(c.dim, c.inside))
				if err != nil {
					t.Fatal(err)
				}
				if c.dim == "region" && en.name == "Diagnose" {
					// Spend has no region: withheld under a region scope.
					g := got.(*Diagnosis)
					if g.Cost.Spend != 0 || g.Cost.PerLead != nil || !slices.Equal(g.Cost.Withheld, []string{"region"}) {
						t.Errorf("%s: spend not withheld: %+v", c.name, g.Cost)
					}
					g.Cost, want.(*Diagnosis).Cost = Cost{}, Cost{}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s scope: got %+v\nwant (filtered) %+v", c.name, got, want)
				}
				if !reflect.DeepEqual(got, all) {
					differs++
				}
				// ANDed with the scope's filters: asking for the other unit shows nothing.
				none, err := en.run(scoped, with(c.dim, c.outside))
				if err != nil {
					t.Fatal(err)
				}
				empty, err := en.run(bg, with(c.dim, "nowhere"))
				if err != nil {
					t.Fatal(err)
				}
				if d, ok := none.(*Diagnosis); ok {
					d.Cost, empty.(*Diagnosis).Cost = Cost{}, Cost{}
				}
				if !reflect.DeepEqual(none, empty) {
					t.Errorf("%s scope with filter %s: got %+v, want nothing", c.name, c.outside, none)
				}
			}
			if differs == 0 {
				t.Error("no row scope changes the answer: the fixture does not exercise it")
			}
			again, err := en.run(bg, base)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, all) {
				t.Errorf("unscoped after scoped calls: %+v, want %+v", again, all)
			}
		})
	}

	// An empty row scope is unrestricted and shares the unscoped cache entry.
	a, _ := eng.WinRate(bg, base)
	b, _ := eng.WinRate(WithRowScope(bg, RowScope{BusinessUnits: []string{}}), base)
	if a != b {
		t.Error("an empty row scope does not share the unscoped result")
	}
	if rs, ok := RowScopeFrom(WithRowScope(bg, RowScope{BusinessUnits: []string{"b", "a", "b"}})); !ok || !slices.Equal(rs.BusinessUnits, []string{"a", "b"}) {
		t.Errorf("RowScopeFrom = %+v, %v", rs, ok)
	}
	if _, ok := RowScopeFrom(bg); ok {
		t.Error("RowScopeFrom of a bare context reports a scope")
	}

	// Timeline: a case outside the scope looks like an unknown one.
	north := WithRowScope(bg, RowScope{BusinessUnits: []string{"North"}})
	unknown, err := eng.Timeline(north, "nope")
	if err != nil {
		t.Fatal(err)
	}
	if o3, err := eng.Timeline(north, "O3"); err != nil || !reflect.DeepEqual(o3, unknown) {
		t.Errorf("Timeline(O3) under North = %v, %v; want %v as for an unknown case", o3, err, unknown)
	}
	if o3, err := eng.Timeline(bg, "O3"); err != nil || len(o3) != 9 {
		t.Errorf("Timeline(O3) unscoped = %d events, %v; want 9", len(o3), err)
	}
	if o1, err := eng.Timeline(north, "O1"); err != nil || len(o1) != 12 {
		t.Errorf("Timeline(O1) under North = %d events, %v; want 12", len(o1), err)
	}

	// BusinessUnits.
	if us, err := eng.BusinessUnits(north); err != nil || !slices.Equal(us, []string{"North"}) {
		t.Errorf("BusinessUnits under North = %v, %v", us, err)
	}
	if us, err := eng.BusinessUnits(bg); err != nil || !slices.Equal(us, []string{"North", "South"}) {
		t.Errorf("BusinessUnits = %v, %v", us, err)
	}
}

// TestRowScopeCapability checks ramp and certification under a row scope (capability fixture:
// N2 is the only South employee).
func TestRowScopeCapability(t *testing.T) {
	eng := newCapabilityFixture(t)
	bg := context.Background()
	south := WithRowScope(bg, RowScope{BusinessUnits: []string{"South"}})
	c, err := eng.Certification(south, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Total.Employees != 1 || len(c.Units) != 1 || c.Units[0].BusinessUnit != "South" {
		t.Errorf("certification under South: %+v", c)
	}
	r, err := eng.Ramp(south, d(2025, 1, 1), d(2025, 4, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hires) != 1 || r.Hires[0].EmployeeID != "N2" || r.TenuredSellers != 0 {
		t.Errorf("ramp under South: %+v", r)
	}
	all, err := eng.Ramp(bg, d(2025, 1, 1), d(2025, 4, 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Hires) < 2 || all.TenuredSellers == 0 {
		t.Errorf("ramp unscoped: %+v", all)
	}
}
