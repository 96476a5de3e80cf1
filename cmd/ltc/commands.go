package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

func runETL(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("etl", stderr)
	cfgPath := fs.String("config", "ltc.yaml", "config file")
	logLevel := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != "run" {
		fs.Usage()
		return errUsage
	}
	// Flags may also follow "run".
	if err := fs.Parse(rest[1:]); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, *cfgPath, logger, stdout)
	if err != nil {
		return err
	}
	defer a.close()
	jobs := fs.Args()
	if len(jobs) == 0 {
		jobs = a.runner.Jobs()
	}
	// One batch: each job commits its rows, the derived tables are rebuilt once at the end.
	// Interrupted (SIGINT/SIGTERM), the running job rolls back and the rest do not start.
	results, err := a.runner.RunBatch(ctx, jobs)
	for _, res := range results {
		printRun(stdout, res)
	}
	return err
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("migrate", stderr)
	wh := addWarehouseFlags(fs, "database file (overrides the config)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, opts, err := wh.target()
	if err != nil {
		return err
	}
	db, err := schema.Open(ctx, path, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	var v int
	if err := db.Read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: schema at version %d\n", path, v)
	return nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("check", stderr)
	cfgPath := fs.String("config", "ltc.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	m, err := cfg.Model()
	if err != nil {
		return err
	}
	for _, s := range cfg.Sources {
		if s.Kind == source.KindDatabase {
			continue // checked below by connecting
		}
		if matches, _ := filepath.Glob(cfg.Resolve(s.Glob)); len(matches) == 0 {
			fmt.Fprintf(stdout, "warning: source %q: glob %q matches no file yet\n", s.Name, s.Glob)
		}
	}
	// The files the globs match now must have the columns the mapping reads (an in-memory
	// DuckDB reads Parquet schemas).
	db, err := schema.Open(ctx, "", schema.Options{Threads: 1})
	if err != nil {
		return fmt.Errorf("check sources: %w", err)
	}
	defer db.Close()
	if errs := etl.CheckSources(ctx, db.Read, cfg.Sources, cfg.Resolve); len(errs) > 0 {
		return fmt.Errorf("%d problems in the source files:\n%w", len(errs), errors.Join(errs...))
	}
	for _, w := range kpi.New(nil, m, kpiOptions(cfg)).Unserved() {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	if err := checkTargets(ctx, cfg, m, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d sources, process %q with %d stages)\n", *cfgPath, len(cfg.Sources), m.Name, len(m.Stages))
	return nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("serve", stderr)
	cfgPath := fs.String("config", "ltc.yaml", "config file")
	listen := fs.String("listen", "", "listen address (overrides the config)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	noLoad := fs.Bool("no-initial-load", false, "do not run every ETL job once at start")
	insecure := fs.Bool("insecure", false, "allow a non-loopback listen address without auth.tokens (anyone who reaches it reads everything)")
	readOnly := fs.Bool("read-only", false, "serve a snapshot read-only (a replica): no ETL, no migrations; needs --db")
	dbPath := fs.String("db", "", "with --read-only: a DuckDB file, or a snapshot folder whose newest snapshot is served and followed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	if *readOnly || *dbPath != "" {
		if !*readOnly || *dbPath == "" {
			fmt.Fprintln(stderr, "ltc serve: --read-only and --db go together")
			return errUsage
		}
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
		cfg, err := loadServeConfig(*cfgPath, explicit)
		if err != nil {
			return err
		}
		if *listen != "" {
			cfg.Server.Listen = *listen
		}
		return serveReplica(ctx, cfg, *dbPath, *insecure, logger)
	}
	a, err := openApp(ctx, *cfgPath, logger, nil)
	if err != nil {
		return err
	}
	defer a.close()
	if *listen != "" {
		a.cfg.Server.Listen = *listen
	}
	return a.serve(ctx, !*noLoad, *insecure)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("demo", stderr)
	dir := fs.String("dir", "data/demo", "folder for the generated source files, ltc.yaml and the warehouse")
	size := fs.String("size", "small", "demo size: small (10k leads), medium (100k), large (1M)")
	seed := fs.Int64("seed", 1, "generator seed (same seed and day, same bytes)")
	listen := fs.String("listen", "", "listen address (default from the generated config, 127.0.0.1:8080)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	insecure := fs.Bool("insecure", false, "allow a non-loopback listen address without auth.tokens")
	var inject []synth.Injection
	fs.Func("inject", "inject a sustained change into the generated data, e.g. lead_conversion=-25%@2026-09-01:North (unit * for all) "+
		"(KPIs: "+strings.Join(synth.InjectableKPIs, ", ")+"; repeatable; only when the data is generated)", func(s string) error {
		in, err := synth.ParseInjection(s)
		inject = append(inject, in)
		return err
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(*dir, "ltc.yaml")
	if _, err := os.Stat(cfgPath); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stdout, "generating %s demo data in %s …\n", *size, *dir)
		start := time.Now()
		sum, err := synth.Generate(ctx, *dir, synth.Options{Size: *size, Seed: *seed, Now: time.Now().UTC(), Inject: inject})
		if err != nil {
			return fmt.Errorf("generate demo data: %w", err)
		}
		fmt.Fprintf(stdout, "generated %d leads, %d opportunities, %d events in %d files (%.1fs)\n",
			sum.Leads, sum.Opportunities, sum.Events, sum.Files, time.Since(start).Seconds())
	} else {
		if len(inject) > 0 {
			return fmt.Errorf("demo: --inject needs fresh data, but %s already has a demo (delete the folder or pick another --dir)", *dir)
		}
		fmt.Fprintf(stdout, "using existing demo data in %s (delete the folder to regenerate)\n", *dir)
	}
	a, err := openApp(ctx, cfgPath, logger, stdout)
	if err != nil {
		return err
	}
	defer a.close()
	if *listen != "" {
		a.cfg.Server.Listen = *listen
	}
	return a.serve(ctx, true, *insecure)
}

// printRun writes a one-line summary of a run.
func printRun(w io.Writer, res etl.RunResult) {
	if res.Status == etl.StatusFailed {
		fmt.Fprintf(w, "%s: failed after %.2fs — nothing of this run was committed; the previous data is intact\n",
			res.Job, res.Duration().Seconds())
		return
	}
	conflicts := ""
	if res.RowsConflict > 0 {
		conflicts = fmt.Sprintf(" (%d replaced another file's row of the same key)", res.RowsConflict)
	}
	fmt.Fprintf(w, "%s: %s — %d files, %d read, %d loaded%s, %d quarantined, %d duplicate in %.2fs\n",
		res.Job, res.Status, res.Files, res.RowsRead, res.RowsLoaded, conflicts, res.RowsQuarantined, res.RowsDuplicate, res.Duration().Seconds())
}
