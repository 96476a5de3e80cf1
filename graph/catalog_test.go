package graph

import (
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestSchemaKPIsAreTheCatalog: every field of the GraphQL schema that returns a KPI value (KpiValue,
// a ValueBreakdown or a cycle's DurationStats) is declared in the KPI catalog, every catalog field
// exists, and each field's description names the KPI's title and unit.
func TestSchemaKPIsAreTheCatalog(t *testing.T) {
	s := NewExecutableSchema(Config{Resolvers: NewResolver(Deps{})}).Schema()
	byField := map[string]kpi.KPI{}
	for _, k := range kpi.Catalog() {
		for _, f := range k.Fields {
			byField[f] = k
		}
	}
	unitWords := map[kpi.Unit][]string{kpi.UnitRatio: {"0..1", "ratio", "share"}, kpi.UnitDays: {"days"},
		kpi.UnitCount: {"count", "number", "cases"}, kpi.UnitMoney: {"amount", "sum"}}
	found := map[string]bool{}
	for _, def := range s.Types {
		// DurationStats' statistics and the generic single-value containers carry the KPI of the
		// field that returns them.
		switch def.Name {
		case "DurationStats", "ValueBreakdown", "ValueGroup", "ValuePoint":
			continue
		}
		if def.Kind != ast.Object || strings.HasPrefix(def.Name, "__") {
			continue
		}
		for _, f := range def.Fields {
			switch f.Type.Name() {
			case "KpiValue", "ValueBreakdown", "DurationStats":
			default:
				continue
			}
			key := def.Name + "." + f.Name
			found[key] = true
			k, ok := byField[key]
			if !ok {
				t.Errorf("%s returns a KPI value but is in no catalog KPI's fields", key)
				continue
			}
			desc := strings.ToLower(f.Description)
			if !strings.Contains(desc, strings.ToLower(k.Title)) {
				t.Errorf("%s: description %q does not name the KPI %q", key, f.Description, k.Title)
			}
			if !slices.ContainsFunc(unitWords[k.Unit], func(w string) bool { return strings.Contains(desc, w) }) {
				t.Errorf("%s: description %q does not say its unit (%s)", key, f.Description, k.Unit)
			}
		}
	}
	for f, k := range byField {
		if !found[f] {
			t.Errorf("catalog KPI %s names the field %s, which the schema does not have", k.Name, f)
		}
	}
}

// TestDimensionsFromCatalog: the Dimension enum is schema.Dimensions, in order.
func TestDimensionsFromCatalog(t *testing.T) {
	var names []string
	for _, d := range model.AllDimension {
		names = append(names, strings.ToLower(string(d)))
	}
	if !slices.Equal(names, schema.Dimensions) {
		t.Errorf("Dimension enum %v, schema.Dimensions %v", names, schema.Dimensions)
	}
}
