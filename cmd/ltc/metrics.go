package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
	"github.com/ltc-analytics/ltc/server"
)

// newKPIMetrics builds the KPI gauge collector on the app's registry from the kpi.metrics_* settings.
func (a *app) newKPIMetrics() *server.KPIMetrics {
	return newKPIGauges(a.registry, a.cfg, a.kpi, a.db, a.logger)
}

// newKPIGauges builds a KPI gauge collector over eng and db on reg from the kpi.metrics_* settings
// (the writer's and a read replica's).
func newKPIGauges(reg prometheus.Registerer, cfg *config.Config, eng *kpi.Engine, db *schema.DB, logger *slog.Logger) *server.KPIMetrics {
	return server.NewKPIMetrics(reg, server.KPIMetricsOptions{
		Engine:         eng,
		DB:             db,
		Window:         cfg.KPI.Window(),
		Interval:       server.DefaultKPIRefreshInterval,
		MaxLabelValues: cfg.KPI.MaxLabels(),
		Logger:         logger,
	})
}

// runKPIMetrics refreshes the KPI gauges once now, then after each committed ETL run and every
// minute, until ctx is done. The returned function waits for the refresher to stop (call it after
// cancelling ctx, before closing the warehouse).
func (a *app) runKPIMetrics(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.kpiMetrics.Run(ctx)
	}()
	return func() { <-done }
}
