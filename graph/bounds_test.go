package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// boundedServer serves the KPI fixture through the production handler over HTTP with opts.
func boundedServer(t *testing.T, opts HandlerOptions) (string, *[]Code) {
	t.Helper()
	db, eng := newKPIFixture(t)
	var refused []Code
	opts.ErrorCodes, opts.Logger, opts.DataVersion = kpiCodes(), quietLogger(), db.Version
	opts.Refused = func(_ context.Context, c Code) { refused = append(refused, c) }
	srv := httptest.NewServer(NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}), opts))
	t.Cleanup(srv.Close)
	return srv.URL, &refused
}

// postCodes posts query and returns the HTTP status, the size of the body and the error codes.
func postCodes(t *testing.T, url, query string) (int, int, []string) {
	t.Helper()
	status, b := postQuery(t, url, query)
	var r struct{ Errors gqlerror.List }
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %.300s", err, b)
	}
	var codes []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		codes = append(codes, c)
	}
	return status, len(b), codes
}

// postQuery posts query to the GraphQL endpoint url and returns the HTTP status and the body.
func postQuery(t *testing.T, url, query string) (int, []byte) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

const allDimensions = "[BUSINESS_UNIT, REGION, SEGMENT, PRODUCT_LINE, CHANNEL, OWNER, TEAM, BRANCH]"

// TestWorstValueStreamRequestRefused is the request that took a server from 2.2 to 4.0 GiB: ten
// aliases of a daily value stream grouped by every dimension. Its complexity (fields) is well under
// the limit; it must be refused before it runs.
func TestWorstValueStreamRequestRefused(t *testing.T) {
	url, refused := boundedServer(t, HandlerOptions{})
	var b strings.Builder
	b.WriteString("{")
	for i := range 10 {
		fmt.Fprintf(&b, ` v%d: valueStream(scope: {from: "2024-03-01T00:00:00Z", to: "2025-03-01T00:00:00Z", grain: DAY, groupBy: %s}) {
		  total { stages { stage } } groups { key { value } result { stages { stage } } } series { start } }`, i, allDimensions)
	}
	b.WriteString("}")
	_, _, codes := postCodes(t, url, b.String())
	if len(codes) != 1 || codes[0] != string(CodeTooComplex) {
		t.Errorf("codes %v, want [TOO_COMPLEX]", codes)
	}
	if len(*refused) != 1 || (*refused)[0] != CodeTooComplex {
		t.Errorf("refusals reported %v", *refused)
	}
	// One daily month grouped by a dimension, as the dashboards ask, still answers.
	_, _, codes = postCodes(t, url, `{ valueStream(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", grain: DAY, groupBy: [OWNER]}) { total { stages { stage } } } }`)
	if len(codes) != 0 {
		t.Errorf("a dashboard-sized request: %v", codes)
	}
}

// TestGroupByNamesEstimated: dimensions grouped by name (groupByNames, as custom ones are) count
// in the row estimate like the enum's: the same worst request by name is refused before it runs.
func TestGroupByNamesEstimated(t *testing.T) {
	url, _ := boundedServer(t, HandlerOptions{})
	names := `["business_unit", "region", "segment", "product_line", "channel", "owner", "team", "branch"]`
	var b strings.Builder
	b.WriteString("{")
	for i := range 10 {
		fmt.Fprintf(&b, ` v%d: valueStream(scope: {from: "2024-03-01T00:00:00Z", to: "2025-03-01T00:00:00Z", grain: DAY, groupByNames: %s}) {
		  total { stages { stage } } groups { key { value } } }`, i, names)
	}
	b.WriteString("}")
	if _, _, codes := postCodes(t, url, b.String()); len(codes) != 1 || codes[0] != string(CodeTooComplex) {
		t.Errorf("codes %v, want [TOO_COMPLEX]", codes)
	}
}

// TestResultRowsCapped: the real row count is checked too (the estimate guesses the groups per
// dimension): past MaxResultRows the field answers TOO_LARGE.
func TestResultRowsCapped(t *testing.T) {
	url, _ := boundedServer(t, HandlerOptions{MaxResultRows: 20})
	// 31 daily buckets + 1 total: 32 rows; the estimate (1 + 32) is over 20 already: TOO_COMPLEX.
	_, _, codes := postCodes(t, url, `{ winRate(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", grain: DAY}) { series { start } } }`)
	if len(codes) != 1 || codes[0] != string(CodeTooComplex) {
		t.Errorf("estimated over the cap: %v, want [TOO_COMPLEX]", codes)
	}
	// A case list is estimated at one row (its page size is bounded on its own); its nodes count.
	_, _, codes = postCodes(t, url, `{ cases(scope: {from: "2025-01-01T00:00:00Z", to: "2025-06-01T00:00:00Z"}, first: 100) { nodes { id } } }`)
	if len(codes) != 0 {
		t.Fatalf("cases: %v", codes)
	}
	url, _ = boundedServer(t, HandlerOptions{MaxResultRows: 3})
	_, _, codes = postCodes(t, url, `{ cases(scope: {from: "2025-01-01T00:00:00Z", to: "2025-06-01T00:00:00Z"}, first: 100) { nodes { id } } }`)
	if len(codes) != 1 || codes[0] != string(CodeTooLarge) {
		t.Errorf("rows over the cap: %v, want [TOO_LARGE]", codes)
	}
}

// TestResponseBytesCapped: an answer over MaxResponseBytes is replaced by TOO_LARGE (and not cached).
func TestResponseBytesCapped(t *testing.T) {
	url, refused := boundedServer(t, HandlerOptions{MaxResponseBytes: 2000})
	q := `{ valueStream(scope: {from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z", groupBy: [OWNER]}) {
	  total { stages { stage share { value n previous change } medianDays { value n } p90Days { value n } cases { value n } } } groups { key { value } result { stages { stage share { value n previous change } medianDays { value n } p90Days { value n } cases { value n } } } } } }`
	for range 2 { // the second time would come from the response cache
		_, size, codes := postCodes(t, url, q)
		if len(codes) != 1 || codes[0] != string(CodeTooLarge) {
			t.Errorf("codes %v, want [TOO_LARGE]", codes)
		}
		if size > 1000 {
			t.Errorf("refusal of %d bytes", size)
		}
	}
	if len(*refused) == 0 || (*refused)[0] != CodeTooLarge {
		t.Errorf("refusals reported %v", *refused)
	}
	if _, _, codes := postCodes(t, url, `{ health { status } }`); len(codes) != 0 {
		t.Errorf("a small answer: %v", codes)
	}
}

// TestResponseCacheBoundedInBytes: the response cache evicts by the bytes of its answers.
func TestResponseCacheBoundedInBytes(t *testing.T) {
	c := NewResponseCache(64<<10, func() int64 { return 1 })
	data := json.RawMessage(`"` + strings.Repeat("x", 1000) + `"`)
	for i := range 1000 {
		c.add(fmt.Sprint(i), &graphql.Response{Data: data})
		if c.Bytes() > 64<<10 {
			t.Fatalf("after %d answers: %d bytes, budget %d", i+1, c.Bytes(), 64<<10)
		}
	}
	if n := c.cache.Len(); n == 0 || n == 1000 {
		t.Errorf("%d answers kept", n)
	}
	c.add("huge", &graphql.Response{Data: json.RawMessage(strings.Repeat("x", 10<<10))})
	if c.cache.Contains("huge") {
		t.Error("an answer over an eighth of the budget was cached")
	}
}
