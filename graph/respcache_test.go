package graph

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/client"
)

func TestResponseCacheKeysOnDataVersion(t *testing.T) {
	db := openDB(t) // data version 3
	var version atomic.Int64
	version.Store(3)
	h := NewHandler(NewResolver(Deps{DB: db}), HandlerOptions{Logger: quietLogger(), DataVersion: version.Load})
	c := client.New(h)
	query := `query Q($n: Int) { health { dataVersion } etlRuns(first: $n) { totalCount } }`
	first := string(post(t, c, query, client.Var("n", 1)))
	if !strings.Contains(first, `"dataVersion": 3`) {
		t.Fatalf("first answer: %s", first)
	}
	// The warehouse changes behind the cache's back: the same request at the same version is
	// answered from memory (so it still says 3) ...
	if _, err := db.Write.ExecContext(context.Background(), "UPDATE data_version SET version = 4"); err != nil {
		t.Fatal(err)
	}
	if got := string(post(t, c, query, client.Var("n", 1))); got != first {
		t.Errorf("same request, same version was not served from the cache:\n%s", got)
	}
	// ... other variables are another entry ...
	if got := string(post(t, c, query, client.Var("n", 2))); !strings.Contains(got, `"dataVersion": 4`) {
		t.Errorf("different variables were served a cached answer:\n%s", got)
	}
	// ... and a new data version (an ETL commit) misses.
	version.Store(4)
	if got := string(post(t, c, query, client.Var("n", 1))); !strings.Contains(got, `"dataVersion": 4`) {
		t.Errorf("new data version served a stale answer:\n%s", got)
	}
	// Errors are never cached.
	if codes := errorCodes(t, c, `{ etlRuns(first: -1) { totalCount } }`); len(codes) != 1 || codes[0] != "BAD_ARGUMENT" {
		t.Fatalf("codes %v", codes)
	}
}
