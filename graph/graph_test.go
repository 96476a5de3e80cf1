package graph

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// openDB opens an in-memory warehouse with three runs of two jobs, quarantined rows and data version 3.
func openDB(t *testing.T) *schema.DB {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range []string{
		`INSERT INTO etl_runs (run_id, job, started_at, finished_at, status, files, rows_read, rows_loaded,
			rows_quarantined, rows_duplicate, duration_ms, error) VALUES
			(1, 'crm', '2026-03-01 06:00:00', '2026-03-01 06:01:30', 'success', 2, 100, 97, 2, 1, 90000, NULL),
			(2, 'erp', '2026-03-01 07:00:00', '2026-03-01 07:00:02', 'failed', 1, 0, 0, 0, 0, 2000, 'open invoices.csv: no such file'),
			(3, 'crm', '2026-03-02 06:00:00', NULL, 'running', 0, 0, 0, 0, 0, NULL, NULL)`,
		`INSERT INTO quarantine VALUES
			(1, 'crm', 'leads.csv', 12, 'created_at: not a timestamp', '12,L-9,yesterday', '2026-03-01 06:01:00'),
			(1, 'crm', 'leads.csv', 40, 'lead_id: empty', NULL, '2026-03-01 06:01:01'),
			(2, 'erp', 'invoices.jsonl', NULL, 'amount: negative', '{"amount":-1}', '2026-03-01 07:00:01')`,
		`UPDATE data_version SET version = 3, updated_at = '2026-03-01 06:01:30'`,
	} {
		if _, err := db.Write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestHandler(t *testing.T, opts HandlerOptions) http.Handler {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	return NewHandler(NewResolver(Deps{DB: openDB(t), Version: "v1.2.3-test"}), opts)
}

// golden compares got with testdata/name.golden.json, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./graph -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: response differs from %s (run with -update if intended)\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

// post sends query through gqlgen's client and returns the response as indented JSON.
func post(t *testing.T, c *client.Client, query string, opts ...client.Option) []byte {
	t.Helper()
	resp, err := c.RawPost(query, opts...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out := map[string]any{"data": resp.Data}
	if resp.Errors != nil {
		out["errors"] = resp.Errors
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// errorCodes returns the extensions.code of every error in a response.
func errorCodes(t *testing.T, c *client.Client, query string, opts ...client.Option) []string {
	t.Helper()
	resp, err := c.RawPost(query, opts...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	var errs gqlerror.List
	if resp.Errors != nil {
		if err := json.Unmarshal(resp.Errors, &errs); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	for _, e := range errs {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return codes
}

func TestGolden(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	const runFields = `totalCount pageInfo { hasNextPage endCursor }
		edges { cursor node { runId job status startedAt finishedAt durationSeconds files rowsRead rowsLoaded
		rowsQuarantined rowsDuplicate error } }`
	const rowFields = `totalCount pageInfo { hasNextPage endCursor }
		edges { cursor node { runId job file line reason raw quarantinedAt } }`
	for _, tc := range []struct{ name, query string }{
		{"health", `{ health { status version dataVersion database } }`},
		{"etl_runs_page1", `{ etlRuns(first: 2) { ` + runFields + ` } }`},
		{"etl_runs_page2", `{ etlRuns(first: 2, after: "cjoy") { ` + runFields + ` } }`},
		{"etl_runs_default", `{ etlRuns { totalCount edges { node { runId } } } }`},
		{"quarantine", `{ quarantine { ` + rowFields + ` } }`},
		{"quarantine_crm_page1", `{ quarantine(first: 1, job: "crm") { ` + rowFields + ` } }`},
		{"data_freshness", `{ dataFreshness { lastSuccessAt dataVersion updatedAt jobs { job lastSuccessAt lastRunAt lastStatus } } }`},
		{"bad_first_negative", `{ etlRuns(first: -1) { totalCount } }`},
		{"bad_first_huge", `{ quarantine(first: 100000) { totalCount } }`},
		{"bad_cursor", `{ etlRuns(after: "garbage") { totalCount } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, post(t, c, tc.query))
		})
	}
}

// TestCursorsChain walks every page of both listings with the cursors the API returns.
func TestCursorsChain(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	var resp struct {
		EtlRuns model.EtlRunConnection
	}
	var ids []int
	after := ""
	for {
		c.MustPost(`query($after: String) { etlRuns(first: 1, after: $after) {
			edges { node { runId } } pageInfo { hasNextPage endCursor } } }`, &resp, client.Var("after", after))
		for _, e := range resp.EtlRuns.Edges {
			ids = append(ids, e.Node.RunID)
		}
		if !resp.EtlRuns.PageInfo.HasNextPage {
			break
		}
		after = *resp.EtlRuns.PageInfo.EndCursor
	}
	if got := jsonString(ids); got != "[3,2,1]" {
		t.Errorf("runs %s, want [3,2,1]", got)
	}

	var q struct{ Quarantine model.QuarantineConnection }
	var lines []string
	after = ""
	for {
		c.MustPost(`query($after: String) { quarantine(first: 2, after: $after) {
			edges { node { file line } } pageInfo { hasNextPage endCursor } } }`, &q, client.Var("after", after))
		for _, e := range q.Quarantine.Edges {
			lines = append(lines, e.Node.File+":"+jsonString(e.Node.Line))
		}
		if !q.Quarantine.PageInfo.HasNextPage {
			break
		}
		after = *q.Quarantine.PageInfo.EndCursor
	}
	if got := strings.Join(lines, " "); got != "invoices.jsonl:null leads.csv:12 leads.csv:40" {
		t.Errorf("quarantine order %q", got)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestErrorCodes(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	for _, tc := range []struct {
		name, query, want string
	}{
		{"first -1", `{ etlRuns(first: -1) { totalCount } }`, "BAD_ARGUMENT"},
		{"first 1001", `{ etlRuns(first: 1001) { totalCount } }`, "BAD_ARGUMENT"},
		{"first 100000", `{ quarantine(first: 100000) { totalCount } }`, "BAD_ARGUMENT"},
		{"garbage cursor", `{ etlRuns(after: "garbage") { totalCount } }`, "BAD_ARGUMENT"},
		{"cursor of the other listing", `{ quarantine(after: "cjoy") { totalCount } }`, "BAD_ARGUMENT"},
	} {
		if got := errorCodes(t, c, tc.query); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: codes %v, want [%s]", tc.name, got, tc.want)
		}
	}
}

func TestDepthLimit(t *testing.T) {
	// The ops schema is at most 4 deep, so a limit of 3 stands in for the default 12.
	c := client.New(newTestHandler(t, HandlerOptions{DepthLimit: 3}))
	if got := errorCodes(t, c, `{ etlRuns { edges { node { runId } } } }`); len(got) != 1 || got[0] != "TOO_COMPLEX" {
		t.Errorf("depth 4 with limit 3: codes %v, want [TOO_COMPLEX]", got)
	}
	// Fragments count where they are spread; inline fragments add nothing.
	deep := `query { etlRuns { ...E } } fragment E on EtlRunConnection { edges { ... on EtlRunEdge { node { runId } } } }`
	if got := errorCodes(t, c, deep); len(got) != 1 || got[0] != "TOO_COMPLEX" {
		t.Errorf("depth 4 through fragments: codes %v, want [TOO_COMPLEX]", got)
	}
	if got := errorCodes(t, c, `{ etlRuns { pageInfo { hasNextPage } } health { status } }`); len(got) != 0 {
		t.Errorf("depth 3: codes %v, want none", got)
	}
}

func TestComplexityLimit(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{ComplexityLimit: 3}))
	if got := errorCodes(t, c, `{ health { status version dataVersion database } }`); len(got) != 1 || got[0] != "TOO_COMPLEX" {
		t.Errorf("codes %v, want [TOO_COMPLEX]", got)
	}
}

func TestTimeout(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{Timeout: time.Nanosecond}))
	if got := errorCodes(t, c, `{ health { status } }`); len(got) != 1 || got[0] != "TIMEOUT" {
		t.Errorf("codes %v, want [TIMEOUT]", got)
	}
}

// panicky is a resolver root whose health resolver panics.
type panicky struct{ *Resolver }

func (p panicky) Query() QueryResolver { return panickyQuery{&queryResolver{p.Resolver}} }

type panickyQuery struct{ *queryResolver }

func (panickyQuery) Health(context.Context) (*model.Health, error) { panic("boom") }

func TestPanicIsInternal(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r := NewResolver(Deps{DB: openDB(t), Version: "test"})
	h := newHandler(NewExecutableSchema(Config{Resolvers: panicky{r}}), HandlerOptions{Logger: logger})
	c := client.New(h)
	resp, err := c.RawPost(`{ health { status } dataFreshness { dataVersion } }`)
	if err != nil {
		t.Fatal(err) // a 5xx would be an error here
	}
	var errs gqlerror.List
	json.Unmarshal(resp.Errors, &errs)
	if len(errs) != 1 || errs[0].Extensions["code"] != "INTERNAL" || errs[0].Message != "internal error" {
		t.Errorf("errors %s, want one INTERNAL", resp.Errors)
	}
	if strings.Contains(string(resp.Errors), "boom") {
		t.Errorf("panic value leaked to the client: %s", resp.Errors)
	}
	if !strings.Contains(logs.String(), "graphql panic") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("panic not logged: %s", logs.String())
	}
}

var errBadScope = errors.New("kpi: bad scope")

func TestRegisteredSentinel(t *testing.T) {
	codes := NewErrorCodes().Register(errBadScope, CodeBadScope)
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{errBadScope, CodeBadScope},
		{errors.Join(errors.New("x"), errBadScope), CodeBadScope},
		{Errorf(CodeUnknownStage, "stage %q", "nope"), CodeUnknownStage},
		{schema.ErrBadCursor, CodeBadArgument},
		{context.DeadlineExceeded, CodeTimeout},
		{errors.New("disk on fire"), CodeInternal},
	} {
		if got := codes.Lookup(tc.err); got != tc.want {
			t.Errorf("Lookup(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if NewErrorCodes().Lookup(errBadScope) != CodeInternal {
		t.Error("a registration leaked into another table")
	}
}

// introspectionQuery is the query GraphiQL sends (graphql-js getIntrospectionQuery, abridged TypeRef
// depth as in graphql 16).
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`

func TestIntrospection(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	if got := errorCodes(t, c, introspectionQuery); len(got) != 0 {
		t.Fatalf("introspection with default limits: codes %v", got)
	}
	var resp struct {
		Schema struct {
			Types []struct {
				Name        string
				Description *string
				Fields      []struct {
					Name        string
					Description *string
				}
			}
		} `json:"__schema"`
	}
	c.MustPost(`{ __schema { types { name description fields { name description } } } }`, &resp)
	// Every type and field of ours is documented.
	for _, ty := range resp.Schema.Types {
		if strings.HasPrefix(ty.Name, "__") || ty.Name == "String" || ty.Name == "Int" || ty.Name == "Float" ||
			ty.Name == "Boolean" || ty.Name == "ID" {
			continue
		}
		if ty.Description == nil || *ty.Description == "" {
			t.Errorf("type %s has no description", ty.Name)
		}
		for _, f := range ty.Fields {
			if f.Description == nil || *f.Description == "" {
				t.Errorf("field %s.%s has no description", ty.Name, f.Name)
			}
		}
	}

	off := client.New(newTestHandler(t, HandlerOptions{DisableIntrospection: true}))
	var r struct{}
	if err := off.Post(`{ __schema { queryType { name } } }`, &r); err == nil {
		t.Error("introspection answered although disabled")
	}
}

func TestPersistedQuery(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	const q = `{ health { status } }`
	sum := sha256.Sum256([]byte(q))
	ext := client.Extensions(map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}})
	if got := errorCodes(t, c, "", ext); len(got) != 1 || got[0] != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("unknown hash: codes %v", got)
	}
	if got := errorCodes(t, c, q, ext); len(got) != 0 {
		t.Fatalf("register: codes %v", got)
	}
	var resp struct{ Health model.Health }
	if err := c.Post("", &resp, ext); err != nil || resp.Health.Status != "ok" {
		t.Fatalf("by hash: %+v, %v", resp, err)
	}
}

func TestGETTransport(t *testing.T) {
	h := newTestHandler(t, HandlerOptions{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape("{ health { status } }"), nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"ok"`) {
		t.Errorf("GET: %d %s", w.Code, w.Body.String())
	}
}
