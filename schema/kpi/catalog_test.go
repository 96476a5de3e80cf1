package kpi

import (
	"regexp"
	"slices"
	"strings"
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

// TestCatalogMaturity: the KPIs whose value of a recent period is not final carry a maturity note,
// and no other KPI does. Each is listed with the outcome that still arrives after its range's
// timestamp; every KPI on a cohort by case start is among them (a new one must say whether it is).
func TestCatalogMaturity(t *testing.T) {
	maturing := map[string]string{
		"stage_reached":          "later stages reached",
		"stage_conversion":       "later stages reached",
		"stage_reach":            "later stages reached",
		"lead_conversion":        "the lead's conversion",
		"adoption":               "the later stages a case reaches (and may skip)",
		"adoption_coverage":      "the later stages a case reaches (and may skip)",
		"template_adoption":      "later events on template stages",
		"iron_triangle_coverage": "passing the stage the team is due after, roles assigned",
		"rework":                 "a later repeat of the stage",
		"compliance":             "entering a later guarded stage",
		"gate_missing":           "a late gate pass (missing → late)",
		"gate_late":              "a late gate pass (missing → late)",
		"collection_rate":        "payments on the period's invoices",
	}
	for _, k := range Catalog() {
		why, want := maturing[k.Name]
		switch {
		case want && k.Maturity == "":
			t.Errorf("%s has no maturity note; its value still changes with %s", k.Name, why)
		case !want && k.Maturity != "":
			t.Errorf("%s has the maturity note %q; its value is final once its period has ended", k.Name, k.Maturity)
		case want && (!strings.Contains(k.Maturity, "the previous period") || strings.HasSuffix(k.Maturity, ".")):
			t.Errorf("%s: maturity note %q should say what the previous period has had, as a clause (no full stop)", k.Name, k.Maturity)
		}
		if strings.HasPrefix(k.RangeOn, "case start") && !want {
			t.Errorf("%s is a cohort by case start and is not listed as maturing", k.Name)
		}
		delete(maturing, k.Name)
	}
	for name := range maturing {
		t.Errorf("maturing KPI %s is not in the catalog", name)
	}
}
