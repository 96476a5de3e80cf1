package main

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// crashRows is the size of the large event file the crash tests load (plus 1,000 repeated rows).
const crashRows = 400_000

// warehouse is a config folder with one event source (events/*.csv → stage_events) and its database.
type warehouse struct {
	t        *testing.T
	dir, cfg string
}

func newWarehouse(t *testing.T, dir string) *warehouse {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "events"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ltc.yaml")
	if err := os.WriteFile(cfg, []byte(`database: {path: ltc.duckdb, threads: 2}
process: ltc-standard
sources:
  - {name: events, format: csv, glob: "events/*.csv", target: stage_events, timezone: UTC}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return &warehouse{t: t, dir: dir, cfg: cfg}
}

func (w *warehouse) dbPath() string { return filepath.Join(w.dir, "ltc.duckdb") }

// writeEvents writes events/name with n generated events (an unparsable timestamp every 50,000th
// row) followed by a repeat of the first dups rows, using DuckDB's COPY.
func (w *warehouse) writeEvents(name string, n, dups int) string {
	w.t.Helper()
	path := filepath.Join(w.dir, "events", name)
	db, err := sql.Open("duckdb", "")
	if err != nil {
		w.t.Fatal(err)
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (
		WITH ev AS (SELECT i, 'C' || (i // 8) AS case_id,
			['Lead Created', 'Lead Qualified', 'Opportunity Created', 'Needs Analysis', 'Quote Sent',
			 'Contract Review', 'Contract Signed', 'Customer Lunch'][(i %% 8) + 1] AS activity,
			CASE WHEN i %% 50000 = 7 THEN 'not a time' ELSE strftime(TIMESTAMP '2025-01-01' + INTERVAL (i) SECOND, '%%Y-%%m-%%d %%H:%%M:%%S') END AS occurred_at,
			'E' || (i %% 97) AS actor_id, 'sales' AS actor_role,
			CASE WHEN i %% 8 = 5 THEN 'pass' END AS outcome, NULL AS template_used
			FROM range(%d) t(i))
		SELECT * EXCLUDE (i) FROM (SELECT * FROM ev UNION ALL SELECT * FROM ev WHERE i < %d) ORDER BY i)
		TO '%s' (HEADER, DELIMITER ',')`, n, dups, strings.ReplaceAll(path, "'", "''"))
	if _, err := db.Exec(q); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// whState is what a committed warehouse holds, compared across crashes.
type whState struct {
	Version     int64
	Events      int64
	EventsHash  int64
	Files       int64
	Quarantined int64
	Pending     bool
}

// inspect opens the warehouse in this process (replaying its WAL, as any restart does, without
// the runner's recovery), reads its state and the status of its runs, and closes it.
func (w *warehouse) inspect() (whState, []string) {
	w.t.Helper()
	return w.inspectAt(w.dbPath())
}

// inspectAt is inspect for a database elsewhere than the config folder.
func (w *warehouse) inspectAt(path string) (whState, []string) {
	w.t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, path, schema.Options{Threads: 2})
	if err != nil {
		w.t.Fatalf("reopen after crash: %v", err)
	}
	defer db.Close()
	var s whState
	if err := db.Read.QueryRowContext(ctx, `SELECT (SELECT version FROM data_version), (SELECT refresh_pending FROM data_version),
		(SELECT count(*) FROM stage_events), (SELECT coalesce(bit_xor(hash(case_id, activity, occurred_at, seq, _file)) >> 1, 0)::BIGINT FROM stage_events),
		(SELECT count(*) FROM etl_files), (SELECT count(*) FROM quarantine)`).
		Scan(&s.Version, &s.Pending, &s.Events, &s.EventsHash, &s.Files, &s.Quarantined); err != nil {
		w.t.Fatal(err)
	}
	rows, err := db.Read.QueryContext(ctx, "SELECT status || coalesce(': ' || error, '') FROM etl_runs ORDER BY run_id")
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var runs []string
	for rows.Next() {
		var r string
		rows.Scan(&r)
		runs = append(runs, r)
	}
	return s, runs
}

// child is `ltc etl run` in a subprocess, with its stdout lines timed.
type etlChild struct {
	cmd   *exec.Cmd
	start time.Time
	// progress receives the time a line naming marker appeared on stdout.
	progress chan time.Duration
	mu       sync.Mutex
	out      strings.Builder
	done     chan error
}

func startETL(t *testing.T, w *warehouse, marker string) *etlChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "etl", "run", "--config", w.cfg, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &etlChild{cmd: cmd, progress: make(chan time.Duration, 1), done: make(chan error, 1)}
	cmd.Stderr = &lockedWriter{mu: &c.mu, w: &c.out}
	c.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			if marker != "" && strings.Contains(line, marker) {
				select {
				case c.progress <- time.Since(c.start):
				default:
				}
			}
		}
		c.done <- cmd.Wait()
	}()
	return c
}

func (c *etlChild) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestCrashDuringMergeKeepsLastCommit kills `ltc etl run` (SIGKILL) while it loads a million-row
// event file — during staging and validation, and after the file's merge while the derived
// tables refresh, before the commit — and checks after each kill that the warehouse holds exactly
// its last committed state with the killed run still 'running'. Then a rerun marks the killed runs
// failed and loads the file with every row accounted for.
func TestCrashDuringMergeKeepsLastCommit(t *testing.T) {
	w := newWarehouse(t, t.TempDir())
	w.writeEvents("a.csv", 2000, 10)
	if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	committed, runs := w.inspect()
	if committed.Events == 0 || len(runs) != 1 || runs[0] != "success" {
		t.Fatalf("first load: %+v %v", committed, runs)
	}
	big := w.writeEvents("big.csv", crashRows, 1000)

	// The first kill comes right after the progress line of big.csv: the merge is done, the
	// refresh of the derived tables and the commit are not.
	c := startETL(t, w, "big.csv")
	var merged time.Duration
	select {
	case merged = <-c.progress:
	case err := <-c.done:
		t.Fatalf("etl run ended before its progress line: %v\n%s", err, c.output())
	case <-time.After(3 * time.Minute):
		t.Fatalf("no progress line in 3 minutes:\n%s", c.output())
	}
	c.cmd.Process.Kill()
	<-c.done
	t.Logf("big.csv merged after %v; killed then", merged.Round(time.Millisecond))
	kills := 1
	check := func(when string) {
		t.Helper()
		got, runs := w.inspect()
		if got != committed {
			t.Fatalf("after %s: state %+v, want the last commit %+v", when, got, committed)
		}
		if last := runs[len(runs)-1]; last != "running" {
			t.Fatalf("after %s: last run %q, want it left 'running' (the kill landed after the commit?)", when, last)
		}
	}
	check("SIGKILL after the merge")

	// Then kills at fractions of the time to the merge: reading, validating, merging.
	for _, frac := range []float64{0.2, 0.5, 0.85} {
		delay := time.Duration(float64(merged) * frac)
		c := startETL(t, w, "")
		time.Sleep(delay)
		c.cmd.Process.Kill()
		if err := <-c.done; err == nil {
			t.Fatalf("SIGKILL at %v: etl run had already finished:\n%s", delay, c.output())
		}
		kills++
		check(fmt.Sprintf("SIGKILL at %v", delay.Round(time.Millisecond)))
	}

	// A restart recovers: the killed runs are marked failed and the file loads in full.
	out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
	if err != nil || !strings.Contains(out, "events: success — 1 files") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	if !strings.Contains(out, "marked interrupted ETL runs as failed") {
		t.Errorf("rerun did not report the recovery:\n%s", out)
	}
	assertLoaded(t, w, big, crashRows+1000, kills)
}

// assertLoaded checks the last run loaded path completely (read = lines = loaded + quarantined +
// duplicate, the table holds exactly the loaded rows) and that the interrupted runs are failed.
func assertLoaded(t *testing.T, w *warehouse, path string, lines int64, interrupted int) {
	t.Helper()
	assertLoadedAt(t, w, w.dbPath(), path, lines, interrupted)
}

func assertLoadedAt(t *testing.T, w *warehouse, dbPath, path string, lines int64, interrupted int) {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, dbPath, schema.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var read, loaded, quarantined, duplicate, inTable, inQuarantine, failed int64
	var status string
	if err := db.Read.QueryRowContext(ctx, `SELECT status, rows_read, rows_loaded, rows_quarantined, rows_duplicate
		FROM etl_runs ORDER BY run_id DESC LIMIT 1`).Scan(&status, &read, &loaded, &quarantined, &duplicate); err != nil {
		t.Fatal(err)
	}
	// Source files are known by their path relative to the config file.
	rel, _ := filepath.Rel(filepath.Dir(w.cfg), path)
	rel = filepath.ToSlash(rel)
	db.Read.QueryRowContext(ctx, "SELECT count(*) FROM stage_events WHERE _file = $1", rel).Scan(&inTable)
	db.Read.QueryRowContext(ctx, "SELECT count(*) FROM quarantine WHERE file = $1", rel).Scan(&inQuarantine)
	db.Read.QueryRowContext(ctx, `SELECT count(*) FROM etl_runs WHERE status = 'failed' AND error LIKE 'interrupted%'`).Scan(&failed)
	if status != "success" || read != lines || read != loaded+quarantined+duplicate || inTable != loaded || inQuarantine != quarantined {
		t.Errorf("rerun: status %s, read %d (file has %d), loaded %d (table %d), quarantined %d (table %d), duplicate %d",
			status, read, lines, loaded, inTable, quarantined, inQuarantine, duplicate)
	}
	if quarantined == 0 || duplicate == 0 {
		t.Errorf("the file's bad and repeated rows were not classified: quarantined %d, duplicate %d", quarantined, duplicate)
	}
	if failed != int64(interrupted) {
		t.Errorf("%d runs marked failed as interrupted, want %d", failed, interrupted)
	}
}

// TestSIGTERMRollsBackWithinABound sends SIGTERM to `ltc etl run` during a large load, once while
// it reads and validates and once after the merge: each time the process exits within
// sigtermBound with the run recorded as failed (not left running) and the last commit intact;
// a rerun then loads everything.
func TestSIGTERMRollsBackWithinABound(t *testing.T) {
	const sigtermBound = 5 * time.Second
	w := newWarehouse(t, t.TempDir())
	w.writeEvents("a.csv", 2000, 10)
	if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
		t.Fatalf("first load: %v\n%s", err, out)
	}
	committed, _ := w.inspect()
	big := w.writeEvents("big.csv", crashRows, 1000)
	for _, phase := range []string{"reading", "after the merge"} {
		c := startETL(t, w, "big.csv")
		if phase == "reading" {
			// Once the run is recorded (a loaded machine can take seconds to get there), let it read.
			for deadline := time.Now().Add(time.Minute); !strings.Contains(c.output(), "etl run started") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
		} else {
			select {
			case <-c.progress:
			case <-time.After(3 * time.Minute):
				t.Fatalf("no progress line:\n%s", c.output())
			}
		}
		sent := time.Now()
		c.cmd.Process.Signal(syscall.SIGTERM)
		var err error
		select {
		case err = <-c.done:
		case <-time.After(time.Minute):
			c.cmd.Process.Kill()
			t.Fatalf("SIGTERM %s: still running after a minute", phase)
		}
		took := time.Since(sent)
		t.Logf("SIGTERM %s: exited in %v (%v)", phase, took.Round(time.Millisecond), err)
		if took > sigtermBound {
			t.Errorf("SIGTERM %s: exit took %v, bound %v", phase, took, sigtermBound)
		}
		if err == nil || !strings.Contains(c.output(), "context canceled") {
			t.Errorf("SIGTERM %s: exit %v, output does not say the run was cancelled:\n%s", phase, err, c.output())
		}
		got, runs := w.inspect()
		if got != committed {
			t.Fatalf("SIGTERM %s: whState %+v, want the last commit %+v", phase, got, committed)
		}
		if last := runs[len(runs)-1]; !strings.HasPrefix(last, "failed: ") || !strings.Contains(last, "context canceled") {
			t.Errorf("SIGTERM %s: last run %q, want failed (cancelled)", phase, last)
		}
	}
	out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
	if err != nil || strings.Contains(out, "marked interrupted") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	assertLoaded(t, w, big, crashRows+1000, 0)
}
