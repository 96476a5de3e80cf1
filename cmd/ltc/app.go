package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
	"github.com/ltc-analytics/ltc/server"
)

// app is the wired warehouse: database, model, KPI engine, ETL runner and metrics.
type app struct {
	cfg      *config.Config
	db       *schema.DB
	model    *schema.Model
	kpi      *kpi.Engine
	runner   *etl.Runner
	registry *prometheus.Registry
	metrics  *server.ETLMetrics
	// kpiMetrics holds the KPI gauges, refreshed after ETL commits and on a schedule (metrics.go).
	kpiMetrics *server.KPIMetrics
	// initiatives stores and measures change initiatives over the warehouse and the KPI engine.
	initiatives *initiative.Service
	// graphqlMetrics time /graphql operations and count response-cache hits.
	graphqlMetrics *server.GraphQLMetrics
	// snapshots publishes read-only snapshots after ETL commits (database.snapshot_dir); nil when off.
	snapshots *snapshotPublisher
	logger    *slog.Logger
}

// openApp loads the config, opens (and migrates) the warehouse and wires the components.
func openApp(ctx context.Context, configPath string, logger *slog.Logger, progress io.Writer) (*app, error) {
	cfg, err := config.Load(configPath)
	if err != nil {
		return nil, err
	}
	model, err := cfg.Model()
	if err != nil {
		return nil, err
	}
	if _, err := setGoMemoryLimit(cfg, logger); err != nil {
		return nil, err
	}
	db, err := schema.Open(ctx, cfg.Resolve(cfg.Database.Path), schema.Options{
		MemoryLimit:   cfg.Database.MemoryLimit,
		Threads:       cfg.Database.Threads,
		TempDirectory: cfg.Resolve(cfg.Database.TempDirectory),
	})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, db: db, model: model, logger: logger, registry: server.NewRegistry()}
	kopts := kpiOptions(cfg)
	kopts.Logger = logger
	a.kpi = kpi.New(db, model, kopts)
	a.initiatives = initiative.New(db, a.kpi)
	if err := a.kpi.Check(); err != nil {
		db.Close()
		return nil, fmt.Errorf("kpi settings: %w", err)
	}
	a.metrics = server.NewETLMetrics(a.registry)
	a.kpiMetrics = a.newKPIMetrics()
	a.graphqlMetrics = server.NewGraphQLMetrics(a.registry)
	a.snapshots = newSnapshotPublisher(db, cfg.Resolve(cfg.Database.SnapshotDir), logger)
	a.runner = etl.NewRunner(etl.Options{
		DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve, Root: cfg.Dir,
		DeriveEvents: cfg.ETL.DeriveEvents,
		Refresh:      a.kpi.Refresh,
		OnRun:        a.metrics.Observe,
		OnCommit: func(int64) {
			a.kpiMetrics.Trigger()
			a.snapshots.Trigger()
		},
		Progress: progress,
		Logger:   logger,
	})
	if n, err := a.runner.RecoverInterrupted(ctx); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		logger.Warn("marked interrupted ETL runs as failed", "runs", n)
	}
	if asked, err := a.kpi.RebuildIfModelChanged(ctx); err != nil {
		db.Close()
		return nil, err
	} else if asked {
		logger.Info("the process model or KPI definitions changed: rebuilding the derived tables")
	}
	if err := a.runner.RefreshIfPending(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// close checkpoints and closes the warehouse.
func (a *app) close() error { return a.db.Close() }

// loadAll runs every ETL job once, then stores the initiatives declared in the config (their
// business units are checked against the loaded data).
func (a *app) loadAll(ctx context.Context) error {
	var errs []error
	if len(a.cfg.Sources) > 0 {
		if _, err := a.runner.RunAll(ctx); err != nil {
			errs = append(errs, fmt.Errorf("initial load: %w", err))
		}
	}
	if err := a.syncInitiatives(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// syncInitiatives stores the config's initiatives in the warehouse.
func (a *app) syncInitiatives(ctx context.Context) error {
	declared, err := a.cfg.InitiativeList()
	if err != nil {
		return fmt.Errorf("initiatives: %w", err)
	}
	if err := a.initiatives.Sync(ctx, declared); err != nil {
		return fmt.Errorf("initiatives: %w", err)
	}
	return nil
}
