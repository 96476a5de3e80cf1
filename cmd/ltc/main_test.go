package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDemoServesAndShutsDown runs `ltc demo` as a user does, in its own process: it generates the
// small demo, loads it through the ETL, serves it, and on SIGINT stops cleanly, leaving the
// warehouse closed for the next process. (In its own process because a DuckDB instance whose query
// was interrupted at shutdown can outlive its last connection and keep the file lock until the
// process exits; see DuckDB's duckdb_interrupt.)
func TestDemoServesAndShutsDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	addr := freeAddr(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], "demo", "--dir", dir, "--listen", addr, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	}()
	base := "http://" + addr
	deadline := time.Now().Add(3 * time.Minute)
	for {
		code, _ := get(t, base+"/readyz")
		if code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("demo exited early (%v):\n%s\n%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 3 minutes:\n%s", stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	resp, err := http.Post(base+"/graphql", "application/json",
		strings.NewReader(`{"query":"{ health { status dataVersion } etlRuns(first: 50) { totalCount edges { node { job status rowsQuarantined } } } }"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"status":"ok"`) || !strings.Contains(string(body), `"totalCount":11`) ||
		strings.Contains(string(body), `"failed"`) {
		t.Errorf("/graphql: %s", body)
	}
	if _, metrics := get(t, base+"/metrics"); !strings.Contains(metrics, `ltc_etl_last_success_timestamp_seconds{etl_job="events"}`) {
		t.Errorf("/metrics lacks the events job's last success:\n%.3000s", metrics)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo after SIGINT: %v:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("did not shut down within a minute")
	}
	if !strings.Contains(stdout.String(), "events: ") || !strings.Contains(stdout.String(), "quarantined") {
		t.Errorf("no progress lines on stdout:\n%s", stdout.String())
	}
	// The warehouse was checkpointed and closed, so another process can open it: `ltc etl run`
	// there finds every file unchanged, a no-op for each of the 11 jobs.
	out, err := ltcProcess(t, "etl", "run", "--config", filepath.Join(dir, "ltc.yaml"))
	if err != nil {
		t.Fatalf("etl run: %v\n%s", err, out)
	}
	if strings.Count(out, ": noop") != 11 {
		t.Errorf("rerun on unchanged files should be 11 no-ops:\n%s", out)
	}
}

// ltcProcess runs ltc with args in a new process (this test binary, re-entered through
// TestMain), as a user would run the binary, and returns its combined output.
func ltcProcess(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMain lets the test binary act as the ltc binary (for ltcProcess).
func TestMain(m *testing.M) {
	if os.Getenv("LTC_TEST_AS_BINARY") == "1" {
		main() // exactly the binary's entry point, signal handling included; it exits
	}
	os.Exit(m.Run())
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("sources:\n  - {name: l, format: csv, glob: 'x/*.csv', target: leads}\n"), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", good}, &out, &errOut); code != 0 {
		t.Fatalf("check good: %d %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (1 sources") || !strings.Contains(out.String(), "matches no file yet") {
		t.Errorf("check output: %s", out.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("process: model.yaml\nsources:\n  - {name: l, format: xml, glob: 'x', target: lead}\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"check", "--config", bad}, &out, &errOut); code != 1 {
		t.Fatalf("check bad: exit %d", code)
	}
	for _, want := range []string{`format "xml"`, `target "lead"`} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("check bad does not list %q: %s", want, errOut.String())
		}
	}
	os.WriteFile(filepath.Join(dir, "model.yaml"), []byte("process:\n  name: m\n  stages:\n    - {id: a, tier: core, gate: {guards: zz}}\n"), 0o644)
	os.WriteFile(bad, []byte("process: model.yaml\n"), 0o644)
	errOut.Reset()
	if code := run(context.Background(), []string{"check", "--config", bad}, &out, &errOut); code != 1 ||
		!strings.Contains(errOut.String(), "model.yaml:4: gate:") {
		t.Errorf("model error: exit %d, %s", code, errOut.String())
	}
}

func TestUsageAndVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "ltc ") {
		t.Errorf("version: %d %q", code, out.String())
	}
	if code := run(context.Background(), []string{"nope"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut.String())
	}
	for _, c := range []string{"serve", "etl", "demo", "migrate", "check"} {
		errOut.Reset()
		if code := run(context.Background(), []string{c, "--help"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "Usage: ltc "+c) {
			t.Errorf("%s --help: %d %q", c, code, errOut.String())
		}
	}
}

// TestCheckWarnsUnservedKPIs: a model without the won milestone passes ltc check (exit 0) with a
// warning naming the KPIs it cannot serve; the standard model gets none.
func TestCheckWarnsUnservedKPIs(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ltc.yaml")
	os.WriteFile(cfg, []byte("process: model.yaml\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(`process:
  name: loans
  stages:
    - {id: submitted, tier: core, milestone: lead_created}
    - {id: approved,  tier: core}
    - {id: paid_out,  tier: core, milestone: cash_collected}
`), 0o644)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("check: exit %d %s", code, errOut.String())
	}
	for _, want := range []string{"warning: Sales cycle (sales_cycle) answers NOT_CONFIGURED: the process model marks no stage as milestone won",
		"warning: Cash cycle (cash_cycle) answers NOT_CONFIGURED: the process model marks no stage as milestone invoiced",
		"warning: Iron-triangle coverage"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "lead_to_cash_cycle") {
		t.Errorf("lead-to-cash is served (cash_collected is marked):\n%s", out.String())
	}
	std := filepath.Join(dir, "std.yaml")
	os.WriteFile(std, []byte("process: ltc-standard\n"), 0o644)
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", std}, &out, &errOut); code != 0 || strings.Contains(out.String(), "warning:") {
		t.Errorf("standard model: exit %d, %s", code, out.String())
	}
}
