package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
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
	logger   *slog.Logger
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
	db, err := schema.Open(ctx, cfg.Resolve(cfg.Database.Path), schema.Options{
		MemoryLimit:   cfg.Database.MemoryLimit,
		Threads:       cfg.Database.Threads,
		TempDirectory: cfg.Resolve(cfg.Database.TempDirectory),
	})
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, db: db, model: model, logger: logger, registry: server.NewRegistry()}
	var anchor time.Time
	if cfg.KPI.SprintAnchor != "" {
		anchor, _ = time.Parse(time.DateOnly, cfg.KPI.SprintAnchor) // validated by config.Load
	}
	a.kpi = kpi.New(db, model, kpi.Options{SprintAnchor: anchor})
	a.metrics = server.NewETLMetrics(a.registry)
	a.runner = etl.NewRunner(etl.Options{
		DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve,
		DeriveEvents: cfg.ETL.DeriveEvents,
		Refresh:      a.kpi.Refresh,
		OnRun:        a.metrics.Observe,
		Progress:     progress,
		Logger:       logger,
	})
	if n, err := a.runner.RecoverInterrupted(ctx); err != nil {
		db.Close()
		return nil, err
	} else if n > 0 {
		logger.Warn("marked interrupted ETL runs as failed", "runs", n)
	}
	return a, nil
}

// close checkpoints and closes the warehouse.
func (a *app) close() error { return a.db.Close() }

// loadAll runs every ETL job once.
func (a *app) loadAll(ctx context.Context) error {
	if len(a.cfg.Sources) == 0 {
		return nil
	}
	if _, err := a.runner.RunAll(ctx); err != nil {
		return fmt.Errorf("initial load: %w", err)
	}
	return nil
}
