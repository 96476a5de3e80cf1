package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
)

// replicaNow is the end of the synthetic data in these tests.
var replicaNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// smallWriterData generates the small synthetic data set into dir with extra lines appended to the
// database section of its ltc.yaml, and returns the config path.
func smallWriterData(t *testing.T, dir, dbExtra string) string {
	t.Helper()
	sum, err := synth.Generate(context.Background(), dir, synth.Options{Size: "small", Seed: 1, Now: replicaNow})
	if err != nil {
		t.Fatal(err)
	}
	if dbExtra != "" {
		b, err := os.ReadFile(sum.Config)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("  path: ltc.duckdb\n"), []byte("  path: ltc.duckdb\n"+dbExtra), 1)
		if err := os.WriteFile(sum.Config, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return sum.Config
}

// replicaQuery asks for several KPI families at a fixed scope, plus the data version answering.
const replicaQuery = `{ health { dataVersion }
  funnel(scope: {from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT]}) { total { stages { stage reached { value n } } } groups { key { value } result { stages { reached { value } } } } }
  winRate(scope: {from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", grain: MONTH}) { total { value n previous } series { start result { value n } } }
  cycleTimes(scope: {from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z"}) { total { sales { p50Days { value n } } leadToCash { p90Days { value n } } } }
  compliance(scope: {from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z"}) { total { rate { value n } } }
  cash(scope: {from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z"}) { total { dsoDays { value } billed { value } } }
}`

var dataVersionRE = regexp.MustCompile(`"dataVersion":(\d+)`)

// postQuery posts replicaQuery to base and returns the body without the health part, and the
// data version that answered; an HTTP or GraphQL error is an error.
func postQuery(client *http.Client, base string) (string, string, error) {
	body, _ := json.Marshal(map[string]string{"query": replicaQuery})
	resp, err := client.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", err
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(b, []byte(`"errors"`)) {
		return "", "", fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	m := dataVersionRE.FindSubmatch(b)
	if m == nil {
		return "", "", fmt.Errorf("no dataVersion in %.300s", b)
	}
	return dataVersionRE.ReplaceAllString(string(b), ""), string(m[1]), nil
}

// startReplica starts `ltc serve --read-only --db snaps` as a separate process (this test binary
// re-entered through TestMain) and waits until it is ready.
func startReplica(t *testing.T, cfgPath, snaps string) (base string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "serve", "--read-only", "--db", snaps, "--config", cfgPath, "--listen", addr, "--log-level", "info")
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			// TestMain runs the re-entered binary without main's signal handling: SIGTERM ends it.
			if err != nil && !strings.Contains(err.Error(), "signal: terminated") {
				t.Errorf("replica %s exited with %v:\n%s", addr, err, out.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Errorf("replica %s did not stop within 30s", addr)
		}
	}
	base = "http://" + addr
	deadline := time.Now().Add(time.Minute)
	for {
		if code, body := get(t, base+"/readyz"); code == http.StatusOK && strings.Contains(body, "data_version=") {
			return base, stop
		}
		select {
		case err := <-exited:
			t.Fatalf("replica exited early: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("replica not ready after a minute:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadReplicasFollowSnapshots: a writer publishes snapshot 1 (database.snapshot_dir); two
// read-only servers in separate processes answer identically; while clients hammer both, the
// writer loads a new month of events and publishes snapshot 2; both replicas switch to it
// (health.dataVersion changes) without one failed request, and answer identically again.
func TestReadReplicasFollowSnapshots(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the small demo and starts two server processes")
	}
	dir := t.TempDir()
	cfgPath := smallWriterData(t, dir, "  snapshot_dir: snapshots\n")
	snaps := filepath.Join(dir, "snapshots")
	// Hold back the newest month of events: the writer's second load.
	months, _ := filepath.Glob(filepath.Join(dir, "events", "events-*.csv"))
	last := months[len(months)-1]
	held := filepath.Join(dir, "held-back.csv")
	if err := os.Rename(last, held); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := openApp(ctx, cfgPath, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	v1 := a.db.Version()
	waitSnapshots := a.snapshots.run(ctx) // as serve does, after the initial load
	defer waitSnapshots()
	defer cancel()
	waitPublished(t, snaps, v1)

	r1, stop1 := startReplica(t, cfgPath, snaps)
	defer stop1()
	r2, stop2 := startReplica(t, cfgPath, snaps)
	defer stop2()
	client := &http.Client{Timeout: 30 * time.Second}
	b1, ver1, err1 := postQuery(client, r1)
	b2, ver2, err2 := postQuery(client, r2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if b1 != b2 || ver1 != fmt.Sprint(v1) || ver2 != ver1 {
		t.Fatalf("replicas differ on snapshot 1 (versions %s, %s; writer %d):\n%s\n%s", ver1, ver2, v1, b1, b2)
	}

	// Hammer both replicas while the writer loads and publishes the next snapshot.
	var ok, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	seen := [2]sync.Map{} // data versions answered, per replica
	hammerCtx, stopHammer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % 2
			base := []string{r1, r2}[k]
			for hammerCtx.Err() == nil {
				_, v, err := postQuery(client, base)
				if err != nil {
					failed.Add(1)
					failMu.Lock()
					failures = append(failures, err.Error())
					failMu.Unlock()
					continue
				}
				ok.Add(1)
				seen[k].Store(v, true)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if err := os.Rename(held, last); err != nil {
		t.Fatal(err)
	}
	res, err := a.runner.Run(ctx, "events")
	if err != nil || res.RowsLoaded == 0 {
		t.Fatalf("second load: %+v %v", res, err)
	}
	v2 := a.db.Version()
	waitPublished(t, snaps, v2)
	for _, base := range []string{r1, r2} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, body := get(t, base+"/readyz"); strings.Contains(body, fmt.Sprintf("data_version=%d ", v2)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not switch to data version %d", base, v2)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond) // requests on the new snapshot while the old one closes
	stopHammer()
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the switch; first: %s", failed.Load(), failed.Load()+ok.Load(), failures[0])
	}
	for k := range seen {
		for _, v := range []int64{v1, v2} {
			if _, ok := seen[k].Load(fmt.Sprint(v)); !ok {
				t.Errorf("replica %d never answered at data version %d", k+1, v)
			}
		}
	}
	t.Logf("%d requests during the switch, none failed", ok.Load())
	c1, ver1, err1 := postQuery(client, r1)
	c2, ver2, err2 := postQuery(client, r2)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if c1 != c2 || ver1 != fmt.Sprint(v2) || ver2 != ver1 {
		t.Errorf("replicas differ on snapshot 2 (versions %s, %s):\n%s\n%s", ver1, ver2, c1, c2)
	}
	if c1 == b1 {
		t.Error("the new month of events changed no answer")
	}
	// The replicas export the KPI gauges too, refreshed over the snapshot they switched to.
	for _, base := range []string{r1, r2} {
		want := fmt.Sprintf("\nltc_kpi_data_version %d\n", v2)
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, body := get(t, base+"/metrics")
			if strings.Contains(body, want) && strings.Contains(body, `ltc_kpi_family_refresh_success{family="lead_conversion"} 1`) {
				break
			}
			if time.Now().After(deadline) {
				var ltc []string
				for _, l := range strings.Split(body, "\n") {
					if strings.HasPrefix(l, "ltc_kpi") {
						ltc = append(ltc, l)
					}
				}
				t.Fatalf("%s/metrics has no KPI gauges at data version %d:\n%.3000s", base, v2, strings.Join(ltc, "\n"))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// waitPublished waits until the folder's current snapshot is at data version v.
func waitPublished(t *testing.T, dir string, v int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if cur, err := schema.CurrentSnapshot(dir); err == nil && strings.HasPrefix(filepath.Base(cur), fmt.Sprintf("ltc-v%d-", v)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot at data version %d published in %s", v, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
