package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the baseline child opens a plain DuckDB file

	"github.com/ltc-analytics/ltc/config"
)

// baselineFlag makes the bench binary the baseline child: DuckDB's own readers load every source
// of the config into tables of a fresh database file (no validation, no ltc), so its wall time
// and peak RSS are measured like `ltc etl run`'s, as a process of its own.
const baselineFlag = "copy-baseline"

// copyBaseline is the baseline child's work: CREATE TABLE … AS SELECT * FROM read_csv /
// read_json / read_parquet of each source's glob, into the database file db.
func copyBaseline(cfgPath, db string) error {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	os.Remove(db)
	os.Remove(db + ".wal")
	conn, err := sql.Open("duckdb", db)
	if err != nil {
		return err
	}
	defer conn.Close()
	readers := map[string]string{"csv": "read_csv(?)", "jsonl": "read_json(?, format = 'newline_delimited')", "parquet": "read_parquet(?)"}
	for i, s := range cfg.Sources {
		r, ok := readers[s.Format]
		if !ok {
			return fmt.Errorf("source %s: no DuckDB reader for format %q", s.Name, s.Format)
		}
		if _, err := conn.Exec(fmt.Sprintf("CREATE TABLE src_%d AS SELECT * FROM %s", i, r), cfg.Resolve(s.Glob)); err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
	}
	return nil
}

// loadConfig writes a config for a whole-warehouse load into dir: the generated one with absolute
// globs, the event log read as CSV (its files) or Parquet (one file).
func loadConfig(d *data, dir, format string) (cfg, db string, err error) {
	cfg, db, err = serverConfig(d, dir, filepath.Dir(d.eventGlob()))
	if err != nil || format == "csv" {
		return cfg, db, err
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		return "", "", err
	}
	s := string(b)
	block := "  - name: events\n    format: csv\n    glob: \"" + d.eventGlob() + "\""
	if !strings.Contains(s, block) {
		return "", "", fmt.Errorf("load config: no events source %q in %s", block, cfg)
	}
	s = strings.Replace(s, block, "  - name: events\n    format: parquet\n    glob: \""+d.parquet+"\"", 1)
	return cfg, db, os.WriteFile(cfg, []byte(s), 0o644)
}

// childRun is what child measured of one process: wall time, CPU time (user + system) and peak
// RSS in bytes.
type childRun struct {
	wall, cpu time.Duration
	rss       int64
}

// child runs a command to its end and measures it. The machine is shared: the CPU time is the
// steadier figure when other work competes for the cores.
func child(cmd *exec.Cmd) (childRun, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return childRun{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out.String())
	}
	r := childRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rss = ru.Maxrss << 10 // KiB on Linux
	}
	return r, nil
}

// benchLoad times `ltc etl run` of every source into a fresh warehouse (stage, validate,
// quarantine, manifest, one rebuild of the derived tables) against DuckDB's own readers loading
// the same files, each a process of its own with its peak RSS; the event log as CSV or Parquet.
func benchLoad(ctx context.Context, o options, w *work, t *table, size, format string, reps int, log *slog.Logger) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir := filepath.Join(w.dir, "load-"+format)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg, db, err := loadConfig(w.d, dir, format)
	if err != nil {
		return err
	}
	var ltc, base, ltcCPU, baseCPU []time.Duration
	var ltcRSS, baseRSS int64
	for i := 0; i < reps; i++ {
		os.Remove(db)
		os.Remove(db + ".wal")
		l, err := child(exec.CommandContext(ctx, o.ltc, "etl", "run", "--config", cfg, "--log-level", "warn"))
		if err != nil {
			return err
		}
		ltc, ltcCPU, ltcRSS = append(ltc, l.wall), append(ltcCPU, l.cpu), max(ltcRSS, l.rss)
		b, err := child(exec.CommandContext(ctx, self, "-"+baselineFlag, cfg, "-baseline-db", filepath.Join(dir, "baseline.duckdb")))
		if err != nil {
			return err
		}
		base, baseCPU, baseRSS = append(base, b.wall), append(baseCPU, b.cpu), max(baseRSS, b.rss)
		log.Info("load", "format", format, "size", size, "rep", i, "ltc_s", l.wall.Seconds(), "ltc_cpu_s", l.cpu.Seconds(),
			"ltc_rss_mib", l.rss>>20, "duckdb_s", b.wall.Seconds(), "duckdb_cpu_s", b.cpu.Seconds(), "duckdb_rss_mib", b.rss>>20)
	}
	os.Remove(filepath.Join(dir, "baseline.duckdb"))
	name := map[string]string{"csv": "CSV", "parquet": "Parquet"}[format]
	t.set("load "+name+" (every source): DuckDB's readers → tables, one process", size,
		fmt.Sprintf("%s · %d MiB peak RSS", secs(median(base)), baseRSS>>20))
	t.set("load "+name+" (every source): ltc etl run (validate, quarantine, manifest, derived facts)", size,
		fmt.Sprintf("%s · %d MiB peak RSS", secs(median(ltc)), ltcRSS>>20))
	r := "load " + name + ": ratio ltc etl run / DuckDB"
	t.set(r, size, ratio(median(ltc), median(base), 1.5))
	t.target(r, "≤ 1.5")
	r = "load " + name + ": CPU time (user + system) ratio ltc etl run / DuckDB"
	t.set(r, size, fmt.Sprintf("%s (%s / %s)", ratio(median(ltcCPU), median(baseCPU), 1.5), secs(median(ltcCPU)), secs(median(baseCPU))))
	t.target(r, "≤ 1.5")
	r = "load " + name + ": peak RSS of ltc etl run (default budget 2 GiB)"
	mark := " ✓"
	if ltcRSS > 1<<30 {
		mark = " ✗"
	}
	t.set(r, size, fmt.Sprintf("%d MiB%s", ltcRSS>>20, mark))
	t.target(r, "≤ 1 GiB")
	return nil
}

// benchWholeLoads runs benchLoad with the event log as CSV, then as Parquet.
func benchWholeLoads(ctx context.Context, o options, w *work, t *table, size string, reps int, log *slog.Logger) error {
	for _, format := range []string{"csv", "parquet"} {
		if err := benchLoad(ctx, o, w, t, size, format, reps, log); err != nil {
			return fmt.Errorf("load %s: %w", format, err)
		}
	}
	return nil
}
