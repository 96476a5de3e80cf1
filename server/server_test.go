package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/schema"
)

func openDB(t *testing.T) *schema.DB {
	t.Helper()
	db, err := schema.Open(context.Background(), "", schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start runs a server on 127.0.0.1:0 and returns its base URL and a stop function that cancels Run
// and returns its error.
func start(t *testing.T, opts Options) (string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(opts).Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				runErr = errors.New("Run did not return within 5s of cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func fetch(t *testing.T, method, url, accept, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestServer(t *testing.T) {
	db := openDB(t)
	if _, err := db.Write.Exec(`INSERT INTO etl_runs (run_id, job, started_at, finished_at, status)
		VALUES (1, 'crm', '2026-03-01 06:00:00', '2026-03-01 06:01:30', 'success')`); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := NewRegistry()
	m := NewETLMetrics(reg)
	if err := m.Seed(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	base, stop := start(t, Options{
		DB:       db,
		GraphQL:  graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, Version: "test"}), graph.HandlerOptions{Logger: logger}),
		Registry: reg,
		Logger:   logger,
	})

	if code, body, _ := fetch(t, "GET", base+"/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body, _ := fetch(t, "GET", base+"/readyz", "", ""); code != 200 {
		t.Errorf("/readyz: %d %q", code, body)
	}
	code, body, _ := fetch(t, "POST", base+"/graphql", "", `{"query":"{ health { status database dataVersion } }"}`)
	if code != 200 || body != `{"data":{"health":{"status":"ok","database":"in-memory","dataVersion":0}}}` {
		t.Errorf("POST /graphql: %d %s", code, body)
	}
	code, body, _ = fetch(t, "GET", base+"/graphql?query=%7Bhealth%7Bstatus%7D%7D", "application/json", "")
	if code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("GET /graphql?query: %d %s", code, body)
	}

	code, body, _ = fetch(t, "GET", base+"/metrics", "", "")
	for _, want := range []string{"go_goroutines", "process_", "ltc_data_version 0",
		"# HELP ltc_etl_runs_total", `ltc_etl_last_success_timestamp_seconds{etl_job="crm"} 1.77234489e+09`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics: %d, no %q", code, want)
		}
	}

	code, body, hdr := fetch(t, "GET", base+"/graphql", "text/html,application/xhtml+xml", "")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GraphiQL: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, ref := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		if !strings.HasPrefix(ref[1], "/") || strings.HasPrefix(ref[1], "//") {
			t.Errorf("GraphiQL references non-local %q", ref[1])
			continue
		}
		if c, b, _ := fetch(t, "GET", base+ref[1], "", ""); c != 200 || len(b) == 0 {
			t.Errorf("asset %s: %d", ref[1], c)
		}
	}

	if code, body, _ := fetch(t, "GET", base+"/", "text/html", ""); code != 200 || !strings.Contains(body, "dashboard is not built") {
		t.Errorf("/: %d %s", code, body)
	}
	if code, _, _ := fetch(t, "GET", base+"/nope", "", ""); code != 404 {
		t.Errorf("/nope: %d, want 404", code)
	}

	began := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answering after shutdown")
	}
}

func TestNotReady(t *testing.T) {
	db := openDB(t)
	base, _ := start(t, Options{DB: db, Ready: func() error { return errors.New("scheduler not started") },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if code, body, _ := fetch(t, "GET", base+"/readyz", "", ""); code != 503 || !strings.Contains(body, "scheduler not started") {
		t.Errorf("/readyz: %d %q", code, body)
	}
	db.Close()
	if code, _, _ := fetch(t, "GET", base+"/readyz", "", ""); code != 503 {
		t.Errorf("/readyz with closed DB: %d", code)
	}
}

func TestUIOption(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("dashboard " + r.URL.Path)) })
	base, _ := start(t, Options{DB: openDB(t), UI: ui, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if code, body, _ := fetch(t, "GET", base+"/funnel", "", ""); code != 200 || body != "dashboard /funnel" {
		t.Errorf("/funnel: %d %q", code, body)
	}
	if code, body, _ := fetch(t, "GET", base+"/healthz", "", ""); code != 200 || body != "ok\n" {
		t.Errorf("/healthz beside UI: %d %q", code, body)
	}
}

func TestRunFailsOnBadAddress(t *testing.T) {
	err := New(Options{Listen: "256.0.0.1:-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Run(context.Background())
	if err == nil {
		t.Fatal("Run on a bad address returned nil")
	}
}
