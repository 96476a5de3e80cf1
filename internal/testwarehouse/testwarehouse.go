// Package testwarehouse builds real warehouses for tests, the way the binary does: source files
// loaded through the real ETL into DuckDB, with the KPI engine's refresh in each commit. Demo uses
// the synthetic business (etl/synth); Maven uses the real Maven CRM export through
// examples/maven-crm/ltc.yaml, under the shared-data skip rule.
package testwarehouse

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/internal/testenv"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// DemoNow is the fixed "today" of demo warehouses, so tests are deterministic.
var DemoNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// Warehouse is a loaded warehouse and what built it.
type Warehouse struct {
	DB      *schema.DB
	Engine  *kpi.Engine
	Config  *config.Config
	Results []etl.RunResult
	// Runner is the ETL runner that loaded it, for further runs.
	Runner *etl.Runner
	// Summary describes the generated demo (zero for Maven).
	Summary synth.Summary
}

// Demo generates the synthetic demo of the given size (seed 7, DemoNow) into a temp dir and loads
// it into an in-memory warehouse. The engine uses the generated config's KPI settings.
func Demo(tb testing.TB, size string) *Warehouse {
	tb.Helper()
	return DemoWith(tb, synth.Options{Size: size, Seed: 7, Now: DemoNow})
}

// DemoWith generates the synthetic demo with the given options (size, seed and "today") into a temp
// dir and loads it into an in-memory warehouse, as Demo does. A zero opts.Now is the current time.
func DemoWith(tb testing.TB, opts synth.Options) *Warehouse {
	tb.Helper()
	sum, err := synth.Generate(context.Background(), tb.TempDir(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	w := load(tb, sum.Config, sum.Now)
	w.Summary = sum
	return w
}

// Maven imports ../shared/data/maven-crm through examples/maven-crm/ltc.yaml; it skips (fails when
// CI=true) if the shared data is absent.
func Maven(tb testing.TB) *Warehouse {
	tb.Helper()
	root := repoRoot()
	testenv.File(tb, filepath.Join(root, "..", "shared", "data", "maven-crm", "sales_pipeline.csv"),
		"the Maven CRM dataset (../shared/data/maven-crm)")
	return load(tb, filepath.Join(root, "examples", "maven-crm", "ltc.yaml"), time.Time{})
}

// FromConfig loads the sources of the ltc.yaml at cfgPath into an in-memory warehouse, running
// every job once, with the config's KPI settings and custom dimensions; a zero now is the current
// time.
func FromConfig(tb testing.TB, cfgPath string, now time.Time) *Warehouse {
	tb.Helper()
	return load(tb, cfgPath, now)
}

// Example loads an example config (examples/<name>/ltc.yaml) the way `ltc check` and then `ltc
// etl run` would: every source's columns are checked first (the test fails on any problem).
func Example(tb testing.TB, cfgPath string) *Warehouse {
	tb.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := schema.Open(context.Background(), "", schema.Options{Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if errs := etl.CheckSources(context.Background(), db.Read, cfg.Sources, cfg.Resolve); len(errs) > 0 {
		tb.Fatalf("ltc check %s: %v", cfgPath, errs)
	}
	return loadConfig(tb, cfg, time.Time{})
}

// load opens an in-memory warehouse and runs every job of the config once.
func load(tb testing.TB, cfgPath string, now time.Time) *Warehouse {
	tb.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		tb.Fatal(err)
	}
	return loadConfig(tb, cfg, now)
}

// loadConfig opens an in-memory warehouse and runs every job of cfg once.
func loadConfig(tb testing.TB, cfg *config.Config, now time.Time) *Warehouse {
	tb.Helper()
	ctx := context.Background()
	model, err := cfg.Model()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	opts := kpi.Options{AdoptionFrom: cfg.KPI.AdoptionFrom, Dimensions: cfg.Dimensions, MinSample: cfg.KPI.MinSample}
	if !now.IsZero() {
		opts.Now = func() time.Time { return now }
	}
	if cfg.KPI.SprintAnchor != "" {
		opts.SprintAnchor, _ = time.Parse(time.DateOnly, cfg.KPI.SprintAnchor)
	}
	eng := kpi.New(db, model, opts)
	if err := eng.Check(); err != nil {
		tb.Fatal(err)
	}
	r := etl.NewRunner(etl.Options{DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve,
		DeriveEvents: cfg.ETL.DeriveEvents, Refresh: eng.Refresh})
	results, err := r.RunAll(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	for _, res := range results {
		if res.RowsRead != res.RowsLoaded+res.RowsQuarantined+res.RowsDuplicate {
			tb.Fatalf("%s: rows not accounted for: %+v", res.Job, res)
		}
	}
	return &Warehouse{DB: db, Engine: eng, Config: cfg, Results: results, Runner: r}
}

// repoRoot is the repository's top folder (two levels above this file).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Refresh runs eng's Refresh in a writer transaction and bumps the data version, as the ETL does,
// for tests that write canonical rows themselves. schema/kpi's and initiative's own tests keep a
// copy: importing this package from them would be an import cycle (it imports kpi and config).
func Refresh(tb testing.TB, db *schema.DB, eng *kpi.Engine) {
	tb.Helper()
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	if err := eng.Refresh(ctx, tx); err != nil {
		tb.Fatal(err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "UPDATE data_version SET version = version + 1, updated_at = now() RETURNING version").Scan(&v); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	db.SetVersion(v)
}
