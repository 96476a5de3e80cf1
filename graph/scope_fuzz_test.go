package graph

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
)

// FuzzScopeInput: converting any ScopeInput — unknown enum strings, repeated dimensions, any time
// range — never panics and fails only with a coded BAD_SCOPE; and the same scope sent through the
// production handler as GraphQL variables is answered 200 with a stable code on every error.
func FuzzScopeInput(f *testing.F) {
	f.Add(int64(1740787200), int64(1743465600), "BUSINESS_UNIT", "North,South", "TEAM,REGION", "MONTH")
	f.Add(int64(1743465600), int64(1740787200), "REGION,REGION", "", "", "SPRINT")
	f.Add(int64(0), int64(0), "business_unit", "'; DROP TABLE leads; --", "NOPE", "FORTNIGHT")
	f.Add(int64(-62135596800), int64(253402300799), "OWNER", strings.Repeat("x", 300), "BRANCH,BRANCH", "DAY")
	h := newKPIHandler(f)
	codes := map[string]bool{}
	for _, c := range []Code{CodeBadScope, CodeUnknownStage, CodeBadArgument, CodeTooComplex, CodeTimeout, CodeInternal} {
		codes[string(c)] = true
	}
	codes["GRAPHQL_VALIDATION_FAILED"], codes["GRAPHQL_PARSE_FAILED"] = true, true
	f.Fuzz(func(t *testing.T, from, to int64, filterDims, values, groupBy, grain string) {
		in := model.ScopeInput{From: time.Unix(from, 0).UTC(), To: time.Unix(to, 0).UTC()}
		vals := strings.Split(values, ",")
		byName := map[string]bool{} // lower-case dimensions go by name (the engine checks them)
		for _, d := range strings.Split(filterDims, ",") {
			if d != "" && d == strings.ToLower(d) {
				byName[d] = true
				in.Filters = append(in.Filters, &model.FilterInput{Name: &d, Values: vals})
				continue
			}
			e := model.Dimension(d)
			in.Filters = append(in.Filters, &model.FilterInput{Dimension: &e, Values: vals})
		}
		for _, d := range strings.Split(groupBy, ",") {
			if d != "" {
				in.GroupBy = append(in.GroupBy, model.Dimension(d))
			}
		}
		if grain != "" {
			g := model.Grain(grain)
			in.Grain = &g
		}
		s, err := kpiScope(in)
		if err != nil {
			var ce *CodedError
			if !errors.As(err, &ce) || ce.Code != CodeBadScope {
				t.Fatalf("kpiScope(%+v): uncoded error %v", in, err)
			}
		} else {
			for d := range s.Filters {
				if !schema.IsDimension(d) && !byName[d] {
					t.Fatalf("filter on unknown dimension %q", d)
				}
			}
		}
		vars, _ := json.Marshal(map[string]any{"s": in})
		body, _ := json.Marshal(map[string]any{"variables": json.RawMessage(vars),
			"query": `query($s: ScopeInput!) { winRate(scope: $s) { total { value n } groups { key { value } } series { start } } }`})
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d: %s\nvariables %s", rec.Code, rec.Body.String(), vars)
		}
		var resp struct {
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not JSON: %s", rec.Body.String())
		}
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			if !codes[code] || code == string(CodeInternal) {
				t.Fatalf("error without a stable code (%q): %s\nvariables %s", code, e.Message, vars)
			}
		}
	})
}
