package graph

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"
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
		case "DurationStats", "ValueBreakdown", "ValueGroup", "ValuePoint", "ChangeExplanation":
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

// TestClientErrorsAndWarnings: dates are accepted as YYYY-MM-DD and a bad one is echoed; unknown
// stages, gates and initiatives list the valid ids; no message names Go code; a filter value no
// case has and an unknown case id come back as warnings, not as a silently empty answer.
func TestClientErrorsAndWarnings(t *testing.T) {
	h := newKPIHandler(t)
	ask := func(q string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"query": q})
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var resp map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("%s: %v", rec.Body.String(), err)
		}
		return resp
	}
	text := func(v any) string { b, _ := json.Marshal(v); return string(b) }

	r := ask(`{ winRate(scope: {from: "2025-03-01", to: "2025-04-01"}) { total { n } } }`)
	if r["errors"] != nil || !strings.Contains(text(r["data"]), `"n":3`) {
		t.Errorf("plain dates: %s", text(r))
	}
	r = ask(`{ winRate(scope: {from: "01/03/2025", to: "2025-04-01"}) { total { n } } }`)
	if s := text(r["errors"]); !strings.Contains(s, `01/03/2025`) || !strings.Contains(s, "YYYY-MM-DD") || !strings.Contains(s, "BAD_ARGUMENT") {
		t.Errorf("bad date: %s", s)
	}
	for q, want := range map[string]string{
		`{ initiative(id: "nope") { id } }`:   "",
		`{ pilotReport(id: "nope") { kpi } }`: `initiative not found: \"nope\" (initiatives: none)`,
		`{ cases(scope: {from: "2025-03-01", to: "2025-04-01"}, filter: {stageReached: "won"}) { nodes { id } } }`: `unknown stage: \"won\" (stages: lead_created, lead_qualified,`,
	} {
		s := text(ask(q))
		if want != "" && !strings.Contains(s, want) {
			t.Errorf("%s: %s lacks %s", q, s, want)
		}
		if goOps.MatchString(s) || strings.Contains(s, "kpi.") {
			t.Errorf("%s: a message names Go code: %s", q, s)
		}
	}
	r = ask(`{ winRate(scope: {from: "2025-03-01", to: "2025-04-01", filters: [{dimension: BUSINESS_UNIT, values: ["Nrth"]}]}) { total { n } }
		caseTimeline(caseId: "Z9") { stage } }`)
	w := text(r["extensions"])
	if !strings.Contains(w, `filter business_unit: no case has the value \"Nrth\" (values: North, South)`) || !strings.Contains(w, `no case \"Z9\"`) {
		t.Errorf("warnings: %s", text(r))
	}
}

// TestCatalogMaturityAPI: the catalog serves each KPI's maturity note as declared, null for a KPI
// that is final once its period has ended.
func TestCatalogMaturityAPI(t *testing.T) {
	var resp struct {
		Catalog struct {
			Kpis []struct {
				Name     string
				Maturity *string
			}
		}
	}
	client.New(newKPIHandler(t)).MustPost(`{ catalog { kpis { name maturity } } }`, &resp)
	got := map[string]*string{}
	for _, k := range resp.Catalog.Kpis {
		got[k.Name] = k.Maturity
	}
	for _, k := range kpi.Catalog() {
		m, ok := got[k.Name]
		switch {
		case !ok:
			t.Errorf("the catalog does not serve %s", k.Name)
		case k.Maturity == "" && m != nil:
			t.Errorf("%s: maturity %q, want null", k.Name, *m)
		case k.Maturity != "" && (m == nil || *m != k.Maturity):
			t.Errorf("%s: maturity %v, want %q", k.Name, m, k.Maturity)
		}
	}
	if got["lead_conversion"] == nil || got["win_rate"] != nil {
		t.Errorf("lead conversion's maturity %v (want a note), win rate's %v (want null)", got["lead_conversion"], got["win_rate"])
	}
}
