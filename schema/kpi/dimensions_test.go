package kpi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

// origin is the custom dimension of these tests: ltc.yaml's {name: origin, attribute: lead_origin}.
var origin = schema.Dimension{Name: "origin", Attribute: "lead_origin", Title: "Lead origin"}

// customFixture is the fixture with a "Lead Origin" attribute on its leads: API on L1, L2, L5,
// L6, L9; Landing Page on L3, L4, L7, L8; none on L10, L11, L12; and O2's opportunity overriding
// its lead's with Partner (a case takes its earliest lead's attributes, the opportunity's win per
// key). It returns an engine that declares origin.
func customFixture(t *testing.T) *Engine {
	t.Helper()
	base, db := newFixture(t)
	ctx := context.Background()
	for _, q := range []string{
		"UPDATE leads SET attributes = MAP {'lead_origin': 'API'} WHERE lead_id IN ('L1', 'L2', 'L5', 'L6', 'L9')",
		"UPDATE leads SET attributes = MAP {'lead_origin': 'Landing Page', 'score': '7'} WHERE lead_id IN ('L3', 'L4', 'L7', 'L8')",
		"UPDATE opportunities SET attributes = MAP {'lead_origin': 'Partner'} WHERE opportunity_id = 'O2'",
		"UPDATE data_version SET refresh_full = true",
	} {
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	eng := New(db, base.Model(), Options{Now: base.opts.Now, Dimensions: []schema.Dimension{origin}})
	if err := eng.Check(); err != nil {
		t.Fatal(err)
	}
	refresh(t, eng, db)
	return eng
}

// TestLeadConversionByCustomDimension: lead conversion filters and groups by a custom dimension
// as by a built-in.
func TestLeadConversionByCustomDimension(t *testing.T) {
	eng := customFixture(t)
	ctx := context.Background()
	s := march()
	s.GroupBy = []string{"origin"}
	bd, err := eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// March leads (cohort by created_at): L1 L2 L3 L4 L5 L6 L7 L8 L11, converted all but L6 and L7:
	// 7/9 (previous: L9 converted, L10 not: 1/2). A lead takes its case's attributes, so L2 (case
	// O2) is Partner. API: L1 L5 converted, L6 not: 2/3 (previous L9: 1/1). Landing Page: L3 L4 L8
	// converted, L7 not: 3/4 (previous none). Partner: L2: 1/1. No origin: L11: 1/1 (previous L10: 0/1).
	checkValue(t, "total", bd.Total, 7.0/9, 0.5, 9, 2, f(7.0/9-0.5))
	want := map[string]struct {
		v, prev float64
		n, pn   int64
		change  *float64
	}{
		"":             {1, 0, 1, 1, f(1)},
		"API":          {2.0 / 3, 1, 3, 1, f(2.0/3 - 1)},
		"Landing Page": {0.75, 0, 4, 0, nil},
		"Partner":      {1, 0, 1, 0, nil},
	}
	if len(bd.Groups) != len(want) {
		t.Fatalf("groups %+v, want %d", bd.Groups, len(want))
	}
	for _, g := range bd.Groups {
		w, ok := want[g.Key["origin"]]
		if !ok {
			t.Fatalf("unexpected group %q", g.Key["origin"])
		}
		checkValue(t, "origin="+g.Key["origin"], g.Result, w.v, w.prev, w.n, w.pn, w.change)
	}
	s = march()
	s.Filters = map[string][]string{"origin": {"Landing Page"}}
	bd, err = eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "filtered to Landing Page", bd.Total, 0.75, 0, 4, 0, nil)
}

// TestFunnelByCustomDimension: the case funnel breaks down and filters by a custom dimension.
func TestFunnelByCustomDimension(t *testing.T) {
	eng := customFixture(t)
	ctx := context.Background()
	s := march()
	s.GroupBy = []string{"origin"}
	s.Filters = map[string][]string{"origin": {"API", "Landing Page"}}
	bd, err := eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// March cohort (TestFunnelFixture): O1 O2 O3 O4 O5 L6 L7 O8 O11; previous O9 L10. API: O1 O5
	// L6 (previous O9); Landing Page: O3 O4 L7 O8 (previous none). The filter drops O2 (Partner),
	// O11 and L10 (no origin): total 7 cases, previous 1. Reached lead_created: all; contract_signed
	// (position 8): API O1 O5 (previous O9), Landing Page O3 O4.
	checkValue(t, "total lead_created", bd.Total.Stages[0].Reached, 7, 1, 7, 1, f(6))
	checkValue(t, "total contract_signed", bd.Total.Stages[8].Reached, 4, 1, 7, 1, f(3))
	if len(bd.Groups) != 2 {
		t.Fatalf("groups %+v, want API and Landing Page", bd.Groups)
	}
	api, lp := bd.Groups[0], bd.Groups[1]
	if api.Key["origin"] != "API" || lp.Key["origin"] != "Landing Page" {
		t.Fatalf("group keys %v, %v", api.Key, lp.Key)
	}
	checkValue(t, "API lead_created", api.Result.Stages[0].Reached, 3, 1, 3, 1, f(2))
	checkValue(t, "API contract_signed", api.Result.Stages[8].Reached, 2, 1, 3, 1, f(1))
	checkValue(t, "Landing Page lead_created", lp.Result.Stages[0].Reached, 4, 0, 4, 0, f(4)) // a count: its change is defined
	checkValue(t, "Landing Page contract_signed", lp.Result.Stages[8].Reached, 2, 0, 4, 0, f(2))
	if got := bd.Total.Stages[8].Stage; got != "contract_signed" {
		t.Fatalf("stage 8 = %s", got)
	}
}

// TestCustomDimensionsInCatalogAndErrors: the engine lists custom dimensions after the built-ins
// with their distinct-value counts; an unknown name is ErrBadScope listing every valid name; an
// unsafe or clashing declaration is a config error and never reaches SQL.
func TestCustomDimensionsInCatalogAndErrors(t *testing.T) {
	eng := customFixture(t)
	ctx := context.Background()
	dims := eng.Dimensions()
	if len(dims) != len(schema.BuiltinDimensions)+1 || dims[len(dims)-1].Name != "origin" || dims[len(dims)-1].Title != "Lead origin" {
		t.Fatalf("dimensions %+v", dims)
	}
	counts, err := eng.DimensionCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Cases' origins: API (O1 O5 L6 O9), Landing Page (O3 O4 L7 O8), Partner (O2): 3 values.
	if counts["origin"] != 3 || counts["business_unit"] != 2 {
		t.Errorf("counts %v, want origin 3, business_unit 2", counts)
	}
	unknown, err := eng.UnknownValues(ctx, map[string][]string{"origin": {"API", "Fax"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 1 || unknown[0].Value != "Fax" || unknown[0].Known != ", API, Landing Page, Partner" {
		t.Errorf("unknown values %+v", unknown)
	}
	s := march()
	s.GroupBy = []string{"source"}
	_, err = eng.LeadConversion(ctx, s)
	if !errors.Is(err, ErrBadScope) || !strings.Contains(err.Error(), `unknown dimension "source" in groupBy (want one of business_unit, region, segment, product_line, channel, owner, team, branch, origin)`) {
		t.Errorf("unknown dimension: %v", err)
	}
	// An engine without the declaration does not know it.
	s = march()
	s.Filters = map[string][]string{"origin": {"API"}}
	if err := s.Validate(); !errors.Is(err, ErrBadScope) {
		t.Errorf("Scope.Validate (built-ins only) of origin: %v, want ErrBadScope", err)
	}

	bad := New(eng.db, eng.Model(), Options{Dimensions: []schema.Dimension{
		{Name: "evil", Attribute: "x'] OR true OR c.attributes['x"}, {Name: "region", Attribute: "region2"}}})
	err = bad.Check()
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `attribute "x'] OR true`) || !strings.Contains(err.Error(), `"region" is a built-in`) {
		t.Errorf("Check = %v, want config errors for both", err)
	}
	if got := len(bad.Dimensions()); got != len(schema.BuiltinDimensions) {
		t.Errorf("bad engine has %d dimensions, want the %d built-ins only", got, len(schema.BuiltinDimensions))
	}
	s = march()
	s.Filters = map[string][]string{"evil": {"1"}}
	if _, err := bad.LeadConversion(ctx, s); !errors.Is(err, ErrBadScope) {
		t.Errorf("filter on a rejected dimension: %v, want ErrBadScope", err)
	}
}
