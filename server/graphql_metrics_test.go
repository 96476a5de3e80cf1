package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestGraphQLMetrics sends the same query twice and one invalid operation to a real server: two
// queries are timed (the second answered by the response cache: one hit), no mutation, and the
// request that never became an operation is not counted.
func TestGraphQLMetrics(t *testing.T) {
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := kpi.New(db, schema.StandardModel(), kpi.Options{})
	reg := NewRegistry()
	gm := NewGraphQLMetrics(reg)
	gql := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, KPI: eng, Version: "test"}),
		graph.HandlerOptions{DataVersion: db.Version, Observe: gm.Observe})
	base, _ := start(t, Options{DB: db, Registry: reg, GraphQL: gql})
	q, _ := json.Marshal(map[string]string{"query": `{ leadConversion(scope: {from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z"}) { total { value n } } }`})
	for range 2 {
		if code, body, _ := fetch(t, "POST", base+"/graphql", "", string(q)); code != http.StatusOK {
			t.Fatalf("query: %d %s", code, body)
		}
	}
	fetch(t, "POST", base+"/graphql", "", `{"query": "{ noSuchField }"}`)
	counts := map[string]uint64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "ltc_graphql_request_duration_seconds" {
			for _, m := range mf.GetMetric() {
				counts[m.GetLabel()[0].GetValue()] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	if counts["query"] != 2 || counts["mutation"] != 0 || len(counts) != 3 {
		t.Errorf("operations timed: %v, want 2 queries, 0 mutations, 0 subscriptions", counts)
	}
	if hits := testutil.ToFloat64(gm.hits); hits != 1 {
		t.Errorf("cache hits = %v, want 1", hits)
	}
}
