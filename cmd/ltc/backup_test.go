package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// demoNow fixes the demo data's end, so KPI answers do not depend on the clock.
var demoNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// newDemo generates the small demo into dir, adds the lines extra to its database section, and
// loads it with `ltc etl run` in this process. It returns the config path.
func newDemo(t *testing.T, dir, extra string) string {
	t.Helper()
	ctx := context.Background()
	if _, err := synth.Generate(ctx, dir, synth.Options{Size: "small", Seed: 1, Now: demoNow}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ltc.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		b = []byte(strings.Replace(string(b), "database:\n  path: ltc.duckdb\n", "database:\n  path: ltc.duckdb\n"+extra, 1))
		if err := os.WriteFile(cfg, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"etl", "run", "--config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("load the demo: %d\n%s\n%s", code, out.String(), errOut.String())
	}
	return cfg
}

// kpiAnswers opens a warehouse read-only and returns the API's answers to a few KPI families.
func kpiAnswers(t *testing.T, path string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, path, schema.Options{ReadOnly: true, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	model := schema.StandardModel()
	eng := kpi.New(db, model, kpi.Options{SprintAnchor: time.Date(2026, 1, 26, 0, 0, 0, 0, time.UTC), Now: func() time.Time { return demoNow }})
	h := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, KPI: eng, Version: "test", Logger: quietLog()}),
		graph.HandlerOptions{Logger: quietLog()})
	const scope = `{from: "2025-01-01T00:00:00Z", to: "2026-03-01T00:00:00Z", groupBy: [BUSINESS_UNIT]}`
	kv := `{ value previous n }`
	var answers []string
	for _, q := range []string{
		`{ health { dataVersion } etlRuns(first: 20) { totalCount } }`,
		`{ funnel(scope: ` + scope + `) { total { stages { stage reached ` + kv + ` } } groups { key { value } result { stages { reached { value } } } } } }`,
		`{ winRate(scope: ` + scope + `) { total ` + kv + ` groups { key { value } result ` + kv + ` } } }`,
		`{ cycleTimes(scope: ` + scope + `) { total { sales { p50Days ` + kv + ` } leadToCash { meanDays ` + kv + ` } } } }`,
		`{ compliance(scope: ` + scope + `) { total { rate ` + kv + ` gates { gate entered { value } } } } }`,
		`{ cash(scope: ` + scope + `) { total { billed ` + kv + ` collected ` + kv + ` dsoDays ` + kv + ` } } }`,
		`{ cases(scope: ` + scope + `, first: 5) { nodes { id businessUnit events furthestStage } } }`,
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":`+jsonString(q)+`}`))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || strings.Contains(body, `"errors"`) {
			t.Fatalf("%s: %d %s", q, rec.Code, body)
		}
		answers = append(answers, body)
	}
	return answers
}

// TestBackupAndRestoreGiveIdenticalKPIs backs up the small demo warehouse offline and — with a
// server holding it — through the server's published snapshot, restores each into a new path and
// compares KPI answers with the original's.
func TestBackupAndRestoreGiveIdenticalKPIs(t *testing.T) {
	dir := t.TempDir()
	cfg := newDemo(t, filepath.Join(dir, "demo"), "  snapshot_dir: snapshots\n")
	want := kpiAnswers(t, filepath.Join(dir, "demo", "ltc.duckdb"))
	ctx := context.Background()
	var out, errOut bytes.Buffer
	ltc := func(args ...string) {
		t.Helper()
		out.Reset()
		errOut.Reset()
		if code := run(ctx, args, &out, &errOut); code != 0 {
			t.Fatalf("ltc %v: %d\n%s%s", args, code, out.String(), errOut.String())
		}
	}

	// Offline: nothing holds the warehouse.
	offline := filepath.Join(dir, "offline.duckdb")
	ltc("backup", "--config", cfg, "--out", offline)
	if !strings.Contains(out.String(), "copied from the warehouse") {
		t.Errorf("backup: %s", out.String())
	}
	if code := run(ctx, []string{"backup", "--config", cfg, "--out", offline}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "exists") {
		t.Errorf("backup over an existing file: %d %s", code, errOut.String())
	}
	restored := filepath.Join(dir, "restored", "ltc.duckdb")
	os.MkdirAll(filepath.Dir(restored), 0o755)
	ltc("restore", "--db", restored, "--from", offline)
	assertSameAnswers(t, "offline backup", want, kpiAnswers(t, restored))

	// Restoring over an existing warehouse keeps the old one aside.
	ltc("restore", "--db", restored, "--from", offline)
	if !strings.Contains(out.String(), "the previous warehouse is kept as "+restored+".before-restore-") {
		t.Errorf("restore over a warehouse: %s", out.String())
	}
	if code := run(ctx, []string{"restore", "--db", restored, "--from", filepath.Join(dir, "demo", "leads.csv")}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "is not a readable ltc warehouse") {
		t.Errorf("restore from a non-warehouse: %d %s", code, errOut.String())
	}

	// Online: a server holds the warehouse and publishes snapshots.
	srv := startServe(t, cfg, "--no-initial-load")
	snapDir := filepath.Join(dir, "demo", "snapshots")
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := schema.CurrentSnapshot(snapDir); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server published no snapshot in a minute:\n%s", srv.output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := run(ctx, []string{"backup", "--db", filepath.Join(dir, "demo", "ltc.duckdb"), "--out", filepath.Join(dir, "x.duckdb")}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "Could not set lock") {
		t.Errorf("backup --db of a served warehouse: %d %s", code, errOut.String())
	}
	online := filepath.Join(dir, "online.duckdb")
	ltc("backup", "--config", cfg, "--out", online)
	if !strings.Contains(out.String(), "copied from the serving process's snapshot") {
		t.Errorf("backup while serving: %s", out.String())
	}
	if code := run(ctx, []string{"restore", "--config", cfg, "--from", online}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "is open in another process") {
		t.Errorf("restore into a served warehouse: %d %s", code, errOut.String())
	}
	srv.stop(t)
	restored2 := filepath.Join(dir, "restored2.duckdb")
	ltc("restore", "--db", restored2, "--from", online)
	assertSameAnswers(t, "backup while serving", want, kpiAnswers(t, restored2))
}

func assertSameAnswers(t *testing.T, what string, want, got []string) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: answer %d differs:\n got  %.400s\n want %.400s", what, i, got[i], want[i])
		}
	}
}

// server is `ltc serve` in a subprocess.
type ltcServer struct {
	cmd  *exec.Cmd
	addr string
	out  *lockedBuffer
	done chan error
}

type lockedBuffer struct{ lockedWriter }

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w.(*strings.Builder).String()
}

func (s *ltcServer) output() string { return s.out.String() }

// startServe starts `ltc serve --config cfg` on a free loopback port and waits until it is ready.
func startServe(t *testing.T, cfg string, extra ...string) *ltcServer {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"serve", "--config", cfg, "--listen", addr, "--log-level", "warn"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	buf := &lockedBuffer{lockedWriter{mu: new(sync.Mutex), w: new(strings.Builder)}}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &ltcServer{cmd: cmd, addr: addr, out: buf, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.done
		}
	})
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("ltc serve exited: %v\n%s", err, buf.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ltc serve not ready in 3 minutes:\n%s", buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *ltcServer) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("ltc serve exit: %v\n%s", err, s.output())
		}
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		t.Fatalf("ltc serve did not stop within a minute after SIGTERM")
	}
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
