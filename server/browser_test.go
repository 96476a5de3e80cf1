package server

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/dashboards/graphiql"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/internal/testenv"
)

// TestGraphiQLRendersInChromium loads /graphql in headless Chromium (offline: the server is the only
// thing it can reach) and checks that GraphiQL rendered and introspected the schema.
func TestGraphiQLRendersInChromium(t *testing.T) {
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	if !graphiql.New(graphiql.Options{}).Built() {
		testenv.Missing(t, "GraphiQL bundle not built (make build)")
	}
	db := openDB(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	base, _ := start(t, Options{DB: db, Logger: logger,
		GraphQL: graph.NewHandler(graph.NewResolver(graph.Deps{DB: db}), graph.HandlerOptions{Logger: logger})})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", base+"/graphql").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{"graphiql-container", "graphiql-editor"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page has no %q:\n%.2000s", want, dom)
		}
	}
}

// TestMetricsPassPromtool runs `promtool check metrics` over /metrics.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "apt-get install prometheus")
	db := openDB(t)
	reg := NewRegistry()
	if err := NewETLMetrics(reg).Seed(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, Options{DB: db, Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	_, body, _ := fetch(t, "GET", base+"/metrics", "", "")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
