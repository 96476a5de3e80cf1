// Command bench is ltc's benchmark suite (make bench): for synthetic data of size S (10k cases),
// M (100k) and L (1M), generated once and cached outside the repository, it measures the ETL
// against DuckDB's own readers, every KPI family through GraphQL against naive raw-event SQL and
// the engine called directly, the /metrics scrape, the server's peak memory and file size, and
// 32 concurrent dashboard clients while an ETL run lands; then prints one markdown table.
// The numbers are medians over repeated runs; on a noisy machine the ratios are what count.
//
//	go run ./bench -sizes S,M,L -ltc bin/ltc
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// sizes maps the table's column names to synth sizes.
var sizes = map[string]string{"S": "small", "M": "medium", "L": "large"}

// options are the command-line flags.
type options struct {
	sizes    []string
	ltc      string
	dir      string
	reps     int
	etlReps  int
	duration time.Duration
	clients  int
	repo     string
	// serverOnly skips the ETL and KPI measurements (the server's own load still runs).
	serverOnly bool
	// loadOnly runs only the whole-warehouse load rows (ltc etl run against DuckDB's readers).
	loadOnly bool
}

func main() {
	var o options
	sz := flag.String("sizes", "S,M,L", "data sizes to run: S (10k cases), M (100k), L (1M)")
	flag.StringVar(&o.ltc, "ltc", "bin/ltc", "the ltc binary the server measurements run (make build)")
	flag.StringVar(&o.dir, "dir", "", "cache folder for generated data and scratch databases (default $LTC_BENCH_DIR or <user cache>/ltc-bench)")
	flag.IntVar(&o.reps, "reps", 5, "repetitions of each KPI timing (median)")
	flag.IntVar(&o.etlReps, "etl-reps", 3, "repetitions of each ETL timing (median; L uses at most 2)")
	flag.DurationVar(&o.duration, "duration", 30*time.Second, "concurrency run length (S runs a third of it)")
	flag.IntVar(&o.clients, "clients", 32, "concurrent dashboard clients")
	flag.BoolVar(&o.loadOnly, "load-only", false, "only the whole-warehouse loads (ltc etl run against DuckDB's readers, CSV and Parquet)")
	flag.BoolVar(&o.serverOnly, "server-only", false, "only the server measurements (initial load, /metrics, concurrency, RSS)")
	baseline := flag.String(baselineFlag, "", "internal: be the baseline child, loading this config's sources with DuckDB's readers")
	baselineDB := flag.String("baseline-db", "", "internal: the baseline child's database file")
	flag.Parse()
	if *baseline != "" {
		if err := copyBaseline(*baseline, *baselineDB); err != nil {
			fmt.Fprintf(os.Stderr, "bench: baseline: %v\n", err)
			os.Exit(1)
		}
		return
	}
	o.sizes = strings.Split(*sz, ",")
	for _, s := range o.sizes {
		if sizes[s] == "" {
			fmt.Fprintf(os.Stderr, "bench: unknown size %q (S, M, L)\n", s)
			os.Exit(2)
		}
	}
	if o.dir == "" {
		o.dir = os.Getenv("LTC_BENCH_DIR")
	}
	if o.dir == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		o.dir = filepath.Join(c, "ltc-bench")
	}
	wd, _ := os.Getwd()
	o.repo = wd
	if abs, err := filepath.Abs(o.ltc); err == nil {
		o.ltc = abs
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	t := newTable(o.sizes)
	for _, s := range o.sizes {
		start := time.Now()
		if err := runSize(ctx, o, s, t, log); err != nil {
			log.Error("size failed", "size", s, "err", err)
			t.set("error", s, "see stderr: "+err.Error())
		}
		log.Info("size done", "size", s, "seconds", time.Since(start).Seconds())
	}
	printHeader(os.Stdout, o)
	t.print(os.Stdout)
}

// runSize runs every measurement at one size into t.
func runSize(ctx context.Context, o options, size string, t *table, log *slog.Logger) error {
	d, err := ensureData(ctx, o.dir, sizes[size], log)
	if err != nil {
		return err
	}
	t.set("cases / stage events", size, fmt.Sprintf("%s / %s", si(float64(d.cases)), si(float64(d.events))))
	reps := o.etlReps
	if size == "L" && reps > 2 {
		reps = 2
	}
	w, err := newWork(d)
	if err != nil {
		return err
	}
	if o.loadOnly {
		return benchWholeLoads(ctx, o, w, t, size, reps, log)
	}
	if !o.serverOnly {
		if err := benchLoads(ctx, o, w, d, t, size, reps, log); err != nil {
			return err
		}
	}
	dur := o.duration
	if size == "S" {
		dur /= 3
	}
	if err := benchServer(ctx, o, w, t, size, dur, log); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// benchLoads runs the ETL, KPI, incremental and Parquet measurements at one size into t.
func benchLoads(ctx context.Context, o options, w *work, d *data, t *table, size string, reps int, log *slog.Logger) error {
	if err := benchWholeLoads(ctx, o, w, t, size, reps, log); err != nil {
		return err
	}
	loaded, full, err := benchETL(ctx, w, t, size, reps, log)
	if err != nil {
		return fmt.Errorf("etl: %w", err)
	}
	if err := benchKPI(ctx, loaded, o.repo, d, t, size, o.reps, log); err != nil {
		return fmt.Errorf("kpi: %w", err)
	}
	if err := benchIncremental(ctx, w, loaded, full, t, size, reps, log); err != nil {
		return fmt.Errorf("incremental: %w", err)
	}
	if err := benchParquet(ctx, w, t, size, reps, log); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

// printHeader prints the command and the machine above the table.
func printHeader(w io.Writer, o options) {
	goVersion := runtime.Version()
	if out, err := exec.Command("go", "version").Output(); err == nil {
		goVersion = strings.TrimSpace(string(out))
	}
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	fmt.Fprintf(w, "\nCommand: `%s`  \n", strings.Join(os.Args, " "))
	fmt.Fprintf(w, "Machine: %d CPUs (%s), %s, %s; %s; KPI timings median of %d, ETL median of %d (L: ≤ 2)\n\n",
		runtime.NumCPU(), cpu, memTotal(), goVersion, time.Now().UTC().Format(time.DateOnly), o.reps, o.etlReps)
}

// memTotal is the machine's memory from /proc/meminfo.
func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "memory unknown"
	}
	var kb int64
	fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"), "%d", &kb)
	return fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
}
