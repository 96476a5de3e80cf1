package kpi

import (
	"regexp"
	"slices"
	"testing"
)

// TestCatalogComplete: every KPI is fully declared, once, and the initiative KPIs are catalog KPIs
// with the unit their statistics need.
func TestCatalogComplete(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	field := regexp.MustCompile(`^[A-Z][A-Za-z]*\.[a-z][A-Za-z0-9]*$`)
	seen := map[string]bool{}
	fields := map[string]string{}
	for _, k := range Catalog() {
		if !snake.MatchString(k.Name) || seen[k.Name] {
			t.Errorf("KPI name %q: not snake_case or declared twice", k.Name)
		}
		seen[k.Name] = true
		if k.Title == "" || k.RangeOn == "" || k.Over == "" || k.Definition == "" || k.Section == "" || len(k.Fields) == 0 {
			t.Errorf("%s: incomplete declaration %+v", k.Name, k)
		}
		if !slices.Contains([]Unit{UnitRatio, UnitDays, UnitCount, UnitMoney}, k.Unit) ||
			!slices.Contains([]Direction{HigherIsBetter, LowerIsBetter, Neutral}, k.Direction) {
			t.Errorf("%s: unit %q / direction %q", k.Name, k.Unit, k.Direction)
		}
		for _, f := range k.Fields {
			if !field.MatchString(f) || fields[f] != "" {
				t.Errorf("%s: field %q malformed or already %s's", k.Name, f, fields[f])
			}
			fields[f] = k.Name
		}
	}

}
