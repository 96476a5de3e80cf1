package graph

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// hostileStrings are SQL-injection attempts and oversized values: each must be treated as a value
// (matching nothing, or refused with an argument code), never as SQL, and never answer INTERNAL.
var hostileStrings = map[string]string{
	"quote":      `North' OR '1'='1`,
	"comment":    `North'--`,
	"stacked":    `x'); DROP TABLE leads; --`,
	"union":      `' UNION SELECT lead_id, NULL FROM leads --`,
	"semicolon":  `North; DELETE FROM stage_events`,
	"identifier": `"business_unit"`,
	"nul":        "North\x00South",
	"unicode":    "Nörth ʼ OR 1=1 —",
	"1MB":        strings.Repeat("a", 1<<20),
}

// hostileQueries use every string argument of the API, as variables.
var hostileQueries = []struct{ name, query string }{
	{"filter", `query($v: String!, $d: Dimension!) { wonValue(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", filters: [{dimension: $d, values: [$v]}]}) { total { value n } } }`},
	{"cases filter", `query($v: String!, $d: Dimension!) { cases(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", filters: [{dimension: $d, values: [$v, "North"]}]}) { nodes { id } } }`},
	{"stageReached", `query($v: String!) { cases(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}, filter: {stageReached: $v}) { nodes { id } } }`},
	{"gateViolated", `query($v: String!) { cases(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}, filter: {gateViolated: $v}) { nodes { id } } }`},
	{"cases cursor", `query($v: String!) { cases(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}, after: $v) { nodes { id } } }`},
	{"violations cursor", `query($v: String!) { violations(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}, after: $v) { nodes { caseId } } }`},
	{"caseTimeline", `query($v: ID!) { caseTimeline(caseId: $v) { activity } }`},
	{"quarantine job", `query($v: String!) { quarantine(job: $v) { totalCount } }`},
	{"quarantine cursor", `query($v: String!) { quarantine(after: $v) { totalCount } }`},
	{"etlRuns cursor", `query($v: String!) { etlRuns(after: $v) { totalCount } }`},
	{"initiative", `query($v: ID!) { initiative(id: $v) { id } }`},
	{"pilotReport", `query($v: ID!) { pilotReport(id: $v) { kpi } }`},
	{"ramp", `query($v: String!) { ramp(hiredFrom: "2024-01-01T00:00:00Z", hiredTo: "2025-01-01T00:00:00Z", businessUnits: [$v]) { __typename } }`},
}

var dimensions = []string{"BUSINESS_UNIT", "REGION", "SEGMENT", "PRODUCT_LINE", "CHANNEL", "OWNER", "TEAM", "BRANCH"}

func TestHostileStrings(t *testing.T) {
	h, _ := securedKPIHandler(t)
	const probe = `{ wonValue(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}) { total { value n } } }`
	before, _ := ask(t, h, "admin", probe)
	for _, q := range hostileQueries {
		dims := []string{""}
		if strings.Contains(q.query, "$d") {
			dims = dimensions
		}
		for vname, v := range hostileStrings {
			for _, d := range dims {
				vars := map[string]any{"v": v}
				if d != "" {
					vars["d"] = d
				}
				body, _ := json.Marshal(map[string]any{"query": q.query, "variables": vars})
				r := httptest.NewRequest("POST", "/graphql", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("X-Test-Identity", "admin")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				var resp struct {
					Data   map[string]json.RawMessage `json:"data"`
					Errors gqlerror.List              `json:"errors"`
				}
				if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &resp) != nil {
					t.Errorf("%s %s %s: HTTP %d %.300s", q.name, d, vname, w.Code, w.Body)
					continue
				}
				for _, e := range resp.Errors {
					if c := e.Extensions["code"]; c == string(CodeInternal) || c == nil {
						t.Errorf("%s %s %s: %v (%v)", q.name, d, vname, c, e.Message[:min(len(e.Message), 200)])
					}
				}
				// A value matches nothing: a filter on it finds no row (no "OR 1=1" widening).
				if q.name == "filter" && len(resp.Errors) == 0 && !strings.Contains(string(resp.Data["wonValue"]), `"n":0`) {
					t.Errorf("%s %s %s matched rows: %s", q.name, d, vname, resp.Data["wonValue"])
				}
			}
		}
	}
	after, _ := ask(t, h, "admin", probe)
	if string(before) != string(after) {
		t.Errorf("the warehouse changed: %s → %s", before, after)
	}
}
