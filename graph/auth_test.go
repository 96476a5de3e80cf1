package graph

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ltc-analytics/ltc/auth"
)

// Identities of the role and row-scope tests, chosen per request by the X-Test-Identity header
// (the server sets the identity from a token or session; auth.NewContext also sets the engine's
// row scope, as in production).
var testIdentities = map[string]auth.Identity{
	"viewer":         {Name: "viewer", Role: auth.Viewer},
	"analyst":        {Name: "analyst", Role: auth.Analyst},
	"admin":          {Name: "admin", Role: auth.Admin},
	"north":          {Name: "north", Role: auth.Analyst, BusinessUnits: []string{"North"}},
	"south":          {Name: "south", Role: auth.Analyst, BusinessUnits: []string{"South"}},
	"north-admin":    {Name: "north-admin", Role: auth.Admin, BusinessUnits: []string{"North"}},
	"north-viewer":   {Name: "north-viewer", Role: auth.Viewer, BusinessUnits: []string{"North"}},
	"region-nowhere": {Name: "region-nowhere", Role: auth.Analyst, Regions: []string{"APAC"}},
}

// withTestIdentity puts the identity named by X-Test-Identity into the request context.
func withTestIdentity(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := testIdentities[r.Header.Get("X-Test-Identity")]; ok {
			r = r.WithContext(auth.NewContext(r.Context(), id))
		}
		h.ServeHTTP(w, r)
	})
}

// securedKPIHandler is the production handler over the KPI fixture with roles enforced and the
// response cache on; refused collects the refusal codes reported.
func securedKPIHandler(t *testing.T) (http.Handler, *[]Code) {
	t.Helper()
	db, eng := newKPIFixture(t)
	var refused []Code
	h := NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger(), DataVersion: db.Version, EnforceRoles: true,
			Refused: func(_ context.Context, c Code) { refused = append(refused, c) }})
	return withTestIdentity(h), &refused
}

// ask posts query as identity and returns the data and the error codes.
func ask(t *testing.T, h http.Handler, identity, query string) (json.RawMessage, []string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	r := httptest.NewRequest("POST", "/graphql", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if identity != "" {
		r.Header.Set("X-Test-Identity", identity)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("%s: HTTP %d %s", query, w.Code, w.Body)
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlerror.List   `json:"errors"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatalf("%s: %v: %s", query, err, w.Body)
	}
	var codes []string
	for _, e := range resp.Errors {
		c, _ := e.Extensions["code"].(string)
		codes = append(codes, c)
	}
	return resp.Data, codes
}

func TestFieldRoles(t *testing.T) {
	h, refused := securedKPIHandler(t)
	fields := map[string]string{
		"health":      `{ health { status } }`,
		"funnel":      `{ funnel(scope: ` + march + `}) { total { stages { stage } } } }`,
		"initiatives": `{ initiatives { id } }`,
		"schema":      `{ __schema { queryType { name } } }`,
		"cases":       `{ cases(scope: ` + march + `}) { nodes { id } } }`,
		"timeline":    `{ caseTimeline(caseId: "A1") { activity } }`,
		"violations":  `{ violations(scope: ` + march + `}) { nodes { caseId } } }`,
		"etlRuns":     `{ etlRuns { totalCount } }`,
		"quarantine":  `{ quarantine { totalCount } }`,
		"mutation":    `mutation { deleteInitiative(id: "nope") }`,
		"ramp":        `{ ramp(hiredFrom: "2024-01-01T00:00:00Z", hiredTo: "2025-01-01T00:00:00Z") { hires { name monthly } } }`,
	}
	// want: the least role that may resolve each field; "unscoped" fields also refuse scoped tokens.
	need := map[string]auth.Role{"health": auth.Viewer, "funnel": auth.Viewer, "initiatives": auth.Viewer, "schema": auth.Viewer,
		"cases": auth.Analyst, "timeline": auth.Analyst, "violations": auth.Analyst, "ramp": auth.Analyst,
		"etlRuns": auth.Admin, "quarantine": auth.Admin, "mutation": auth.Admin}
	unscoped := map[string]bool{"etlRuns": true, "quarantine": true, "mutation": true}
	for _, who := range []string{"viewer", "analyst", "admin", "north-admin", "north-viewer"} {
		id := testIdentities[who]
		for name, q := range fields {
			_, codes := ask(t, h, who, q)
			forbidden := slices.Contains(codes, string(CodeForbidden))
			want := !id.Role.Includes(need[name]) || (unscoped[name] && id.Scoped())
			if forbidden != want {
				t.Errorf("%s asking %s: codes %v, want forbidden=%v", who, name, codes, want)
			}
		}
	}
	if _, codes := ask(t, h, "", fields["funnel"]); !slices.Equal(codes, []string{string(CodeUnauthenticated)}) {
		t.Errorf("no identity: %v, want UNAUTHENTICATED", codes)
	}
	if !slices.Contains(*refused, CodeForbidden) || !slices.Contains(*refused, CodeUnauthenticated) {
		t.Errorf("refusals reported: %v", *refused)
	}
}

func TestRolesOffWithoutAuth(t *testing.T) {
	db, eng := newKPIFixture(t)
	h := NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger()})
	for _, q := range []string{`{ etlRuns { totalCount } }`, `{ cases(scope: ` + march + `}) { nodes { id } } }`} {
		if _, codes := ask(t, h, "", q); len(codes) != 0 {
			t.Errorf("%s without EnforceRoles: %v", q, codes)
		}
	}
}

// caseIDs returns the ids listed under data.<field>.nodes[].<key>.
func caseIDs(t *testing.T, data json.RawMessage, field, key string) []string {
	t.Helper()
	var m map[string]struct {
		Nodes []map[string]any `json:"nodes"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range m[field].Nodes {
		ids = append(ids, n[key].(string))
	}
	slices.Sort(ids)
	return ids
}

func number(t *testing.T, data json.RawMessage, path ...string) float64 {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no %s in %s", strings.Join(path, "."), p, data)
		}
		v = m[p]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s = %v in %s", strings.Join(path, "."), v, data)
	}
	return f
}

// TestRowScopeIsolation checks that a business-unit token sees only its unit's numbers through
// every KPI, drill-down, violation list and initiative report, however it asks. North has cases
// A1 A3 A4 (won value 1000 in March, invoice I1 1000), South A2 L5 (won value 400, no invoice).
func TestRowScopeIsolation(t *testing.T) {
	h, _ := securedKPIHandler(t)
	wonValue := `{ wonValue(scope: ` + march + `}) { total { value n } } }`
	for who, want := range map[string]float64{"analyst": 1400, "north": 1000, "south": 400, "region-nowhere": 0} {
		// Twice: the second answer comes from the response cache, which must key on the scope.
		for range 2 {
			data, codes := ask(t, h, who, wonValue)
			if got := number(t, data, "wonValue", "total", "value"); got != want || len(codes) > 0 {
				t.Errorf("%s: won value %v (%v), want %v", who, got, codes, want)
			}
		}
	}
	// Asking for the other unit explicitly, or grouping by unit, shows nothing of it.
	data, _ := ask(t, h, "north", `{ wonValue(scope: `+march+`, filters: [{dimension: BUSINESS_UNIT, values: ["South"]}]}) { total { value n } } }`)
	if got := number(t, data, "wonValue", "total", "n"); got != 0 {
		t.Errorf("north filtering on South: n = %v, want 0", got)
	}
	data, _ = ask(t, h, "north", `{ funnel(scope: `+march+`, groupBy: [BUSINESS_UNIT]}) { groups { key { value } } } }`)
	if strings.Contains(string(data), "South") {
		t.Errorf("north's funnel groups include South: %s", data)
	}
	data, _ = ask(t, h, "north", `{ cash(scope: `+march+`}) { total { billed { value } collected { value } } } }`)
	if number(t, data, "cash", "total", "billed", "value") != 1000 {
		t.Errorf("north's billed: %s, want 1000", data)
	}
	data, _ = ask(t, h, "south", `{ cash(scope: `+march+`}) { total { billed { value } collected { value } } } }`)
	if number(t, data, "cash", "total", "billed", "value") != 0 || number(t, data, "cash", "total", "collected", "value") != 0 {
		t.Errorf("south's cash shows North's invoice: %s", data)
	}
	for _, q := range []string{
		`{ cycleTimes(scope: ` + march + `}) { total { sales { meanDays { n } } } } }`,
		`{ adoption(scope: ` + march + `}) { total { rate { n } } } }`,
		`{ compliance(scope: ` + march + `}) { total { rate { n } } } }`,
		`{ valueStream(scope: ` + march + `}) { total { cases { value n } } } }`,
		`{ leadConversion(scope: ` + march + `}) { total { n } } }`,
	} {
		all, _ := ask(t, h, "analyst", q)
		north, _ := ask(t, h, "north", q)
		south, _ := ask(t, h, "south", q)
		if string(north) == string(all) && string(south) == string(all) {
			t.Errorf("%s: scoped answers equal the unscoped one: %s", q, all)
		}
	}

	// Drill-down: the cases, a case's timeline, the violations.
	data, _ = ask(t, h, "north", `{ cases(scope: `+march+`}) { nodes { id businessUnit } } }`)
	if ids := caseIDs(t, data, "cases", "id"); !slices.Equal(ids, []string{"A1", "A3"}) {
		t.Errorf("north's March cases: %v, want [A1 A3]", ids)
	}
	data, _ = ask(t, h, "south", `{ cases(scope: `+march+`}) { nodes { id } } }`)
	if ids := caseIDs(t, data, "cases", "id"); !slices.Equal(ids, []string{"A2", "L5"}) {
		t.Errorf("south's March cases: %v, want [A2 L5]", ids)
	}
	data, _ = ask(t, h, "north", `{ caseTimeline(caseId: "A2") { activity } }`)
	if string(data) != `{"caseTimeline":[]}` {
		t.Errorf("north reading South's case A2: %s, want an empty timeline (not found)", data)
	}
	data, _ = ask(t, h, "north", `{ caseTimeline(caseId: "A1") { activity } }`)
	if !strings.Contains(string(data), "Lead Created") {
		t.Errorf("north reading its own case A1: %s", data)
	}
	all, _ := ask(t, h, "analyst", `{ violations(scope: `+march+`}) { nodes { caseId businessUnit } } }`)
	north, _ := ask(t, h, "north", `{ violations(scope: `+march+`}) { nodes { caseId businessUnit } } }`)
	if !strings.Contains(string(all), "A2") || strings.Contains(string(north), "A2") || strings.Contains(string(north), "South") {
		t.Errorf("violations: all %s, north %s (want South's A2 only in the unscoped list)", all, north)
	}

	// Initiatives: the diagnosis of a scope, and a pilot report, are computed on the caller's rows.
	allDiag, _ := ask(t, h, "analyst", `{ diagnosis(scope: `+march+`}) { wonValue { value } } }`)
	northDiag, _ := ask(t, h, "north", `{ diagnosis(scope: `+march+`}) { wonValue { value } } }`)
	if number(t, allDiag, "diagnosis", "wonValue", "value") != 1400 || number(t, northDiag, "diagnosis", "wonValue", "value") != 1000 {
		t.Errorf("diagnosis won value: all %s, north %s (want 1400 and 1000)", allDiag, northDiag)
	}
}

// TestRowScopeInitiatives: a pilot report computed for a token of the other unit sees none of the
// pilot's rows.
func TestRowScopeInitiatives(t *testing.T) {
	h, _ := securedKPIHandler(t)
	if _, codes := ask(t, h, "admin", `mutation { upsertInitiative(input: `+pilotInput+`) { id } }`); len(codes) > 0 {
		t.Fatalf("upsertInitiative: %v", codes)
	}
	if _, codes := ask(t, h, "north-admin", `mutation { upsertInitiative(input: `+pilotInput+`) { id } }`); !slices.Equal(codes, []string{string(CodeForbidden)}) {
		t.Errorf("scoped admin changing initiatives: %v, want FORBIDDEN", codes)
	}
	q := `{ pilotReport(id: "north", kpis: [LEAD_CONVERSION]) { pilot { n value } baseline { n } } }`
	all, _ := ask(t, h, "analyst", q)
	north, _ := ask(t, h, "north", q)
	south, codes := ask(t, h, "south", q)
	if string(all) != string(north) || !strings.Contains(string(all), `"pilot":{"n":2`) {
		t.Errorf("north sees the North pilot differently from an unscoped analyst: %s vs %s", north, all)
	}
	if len(codes) > 0 || string(south) != `{"pilotReport":[{"pilot":{"n":0,"value":0},"baseline":{"n":0}}]}` {
		t.Errorf("south sees North's pilot rows: %s %v", south, codes)
	}
}
