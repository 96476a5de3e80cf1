package main

import (
	"context"

	"github.com/ltc-analytics/ltc/server"
)

// newKPIMetrics builds the KPI gauge collector on the app's registry from the kpi.metrics_* settings.
func (a *app) newKPIMetrics() *server.KPIMetrics {
	return server.NewKPIMetrics(a.registry, server.KPIMetricsOptions{
		Engine:         a.kpi,
		DB:             a.db,
		Window:         a.cfg.KPI.Window(),
		Interval:       server.DefaultKPIRefreshInterval,
		MaxLabelValues: a.cfg.KPI.MaxLabels(),
		Logger:         a.logger,
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
