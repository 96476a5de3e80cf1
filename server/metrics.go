package server

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/schema"
)

// NewRegistry returns a private Prometheus registry with the Go runtime and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// ETLMetrics mirrors ETL runs as Prometheus metrics. Observe is called after every run; the values
// are computed then, never on scrape. Its methods are safe for concurrent use.
type ETLMetrics struct {
	lastSuccess     *prometheus.GaugeVec
	lastRun         *prometheus.GaugeVec
	runs            *prometheus.CounterVec
	rowsLoaded      *prometheus.CounterVec
	rowsQuarantined *prometheus.CounterVec
	rowsDuplicate   *prometheus.CounterVec
	rowsConflict    *prometheus.CounterVec
	duration        *prometheus.HistogramVec
	dataVersion     prometheus.Gauge
}

// runStatuses are the values of the status label (etl_runs.status), pre-created for every seeded job.
var runStatuses = []string{etl.StatusSuccess, etl.StatusFailed, etl.StatusNoop}

// NewETLMetrics creates the ETL metrics and registers them with reg.
func NewETLMetrics(reg prometheus.Registerer) *ETLMetrics {
	m := &ETLMetrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltc_etl_last_success_timestamp_seconds",
			Help: "Unix time when the ETL job last finished a successful run (a noop run, which found no new data, counts).",
		}, []string{"etl_job"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ltc_etl_last_run_timestamp_seconds",
			Help: "Unix time when the ETL job's latest run started, whatever its outcome.",
		}, []string{"etl_job"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltc_etl_runs_total",
			Help: "ETL runs finished, by job and status (success, failed, noop).",
		}, []string{"etl_job", "status"}),
		rowsLoaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltc_etl_rows_loaded_total",
			Help: "Source rows merged into the warehouse, by job.",
		}, []string{"etl_job"}),
		rowsQuarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltc_etl_rows_quarantined_total",
			Help: "Source rows rejected into the quarantine, by job.",
		}, []string{"etl_job"}),
		rowsDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltc_etl_rows_duplicate_total",
			Help: "Source rows skipped as duplicates of rows already loaded, by job.",
		}, []string{"etl_job"}),
		rowsConflict: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ltc_etl_rows_conflict_total",
			Help: "Source rows loaded over another file's row of the same key with other values (the later file wins), by job.",
		}, []string{"etl_job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ltc_etl_run_duration_seconds",
			Help:    "Wall time of ETL runs in seconds, by job.",
			Buckets: prometheus.ExponentialBuckets(0.1, 4, 8), // 0.1 s … 27 min
		}, []string{"etl_job"}),
		dataVersion: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ltc_data_version",
			Help: "Warehouse data version: a counter bumped by every ETL commit.",
		}),
	}
	reg.MustRegister(m.lastSuccess, m.lastRun, m.runs, m.rowsLoaded, m.rowsQuarantined, m.rowsDuplicate, m.rowsConflict,
		m.duration, m.dataVersion)
	return m
}

// Observe records a finished run.
func (m *ETLMetrics) Observe(r etl.RunResult) {
	m.initJob(r.Job)
	m.runs.WithLabelValues(r.Job, r.Status).Inc()
	m.lastRun.WithLabelValues(r.Job).Set(unixSeconds(r.StartedAt.UnixNano()))
	if r.Status == etl.StatusSuccess || r.Status == etl.StatusNoop {
		m.lastSuccess.WithLabelValues(r.Job).Set(unixSeconds(r.FinishedAt.UnixNano()))
	}
	m.rowsLoaded.WithLabelValues(r.Job).Add(float64(r.RowsLoaded))
	m.rowsQuarantined.WithLabelValues(r.Job).Add(float64(r.RowsQuarantined))
	m.rowsDuplicate.WithLabelValues(r.Job).Add(float64(r.RowsDuplicate))
	m.rowsConflict.WithLabelValues(r.Job).Add(float64(r.RowsConflict))
	if d := r.Duration(); d >= 0 && !r.FinishedAt.IsZero() {
		m.duration.WithLabelValues(r.Job).Observe(d.Seconds())
	}
	if r.DataVersion > 0 {
		m.dataVersion.Set(float64(r.DataVersion))
	}
}

// Seed sets the timestamp gauges and the data version from the warehouse's bookkeeping, so they are
// right from startup rather than from the first run of this process.
func (m *ETLMetrics) Seed(ctx context.Context, db *schema.DB) error {
	f, err := schema.ReadFreshness(ctx, db.Read)
	if err != nil {
		return fmt.Errorf("server.ETLMetrics.Seed: %w", err)
	}
	for _, j := range f.Jobs {
		m.initJob(j.Job)
		m.lastRun.WithLabelValues(j.Job).Set(unixSeconds(j.LastRunAt.UnixNano()))
		if j.LastSuccessAt != nil {
			m.lastSuccess.WithLabelValues(j.Job).Set(unixSeconds(j.LastSuccessAt.UnixNano()))
		}
	}
	m.dataVersion.Set(float64(f.DataVersion))
	return nil
}

// initJob creates a job's counter series at zero so rate() and increase() see the first run.
func (m *ETLMetrics) initJob(job string) {
	for _, s := range runStatuses {
		m.runs.WithLabelValues(job, s)
	}
	m.rowsLoaded.WithLabelValues(job)
	m.rowsQuarantined.WithLabelValues(job)
	m.rowsDuplicate.WithLabelValues(job)
	m.rowsConflict.WithLabelValues(job)
}

func unixSeconds(nanos int64) float64 { return float64(nanos) / 1e9 }
