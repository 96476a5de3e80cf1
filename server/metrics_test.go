package server

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ltc-analytics/ltc/etl"
)

func TestETLMetricsObserve(t *testing.T) {
	reg := NewRegistry()
	m := NewETLMetrics(reg)
	start := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	m.Observe(etl.RunResult{Job: "crm", Status: etl.StatusSuccess, StartedAt: start, FinishedAt: start.Add(90 * time.Second),
		RowsRead: 100, RowsLoaded: 97, RowsQuarantined: 2, RowsDuplicate: 1, DataVersion: 4})
	m.Observe(etl.RunResult{Job: "crm", Status: etl.StatusFailed, StartedAt: start.Add(time.Hour),
		FinishedAt: start.Add(time.Hour + time.Second), Err: errors.New("boom")})

	want := `
# HELP ltc_etl_last_run_timestamp_seconds Unix time when the ETL job's latest run started, whatever its outcome.
# TYPE ltc_etl_last_run_timestamp_seconds gauge
ltc_etl_last_run_timestamp_seconds{etl_job="crm"} 1.7723484e+09
# HELP ltc_etl_last_success_timestamp_seconds Unix time when the ETL job last finished a successful run (a noop run, which found no new data, counts).
# TYPE ltc_etl_last_success_timestamp_seconds gauge
ltc_etl_last_success_timestamp_seconds{etl_job="crm"} 1.77234489e+09
# HELP ltc_etl_runs_total ETL runs finished, by job and status (success, failed, noop).
# TYPE ltc_etl_runs_total counter
ltc_etl_runs_total{etl_job="crm",status="failed"} 1
ltc_etl_runs_total{etl_job="crm",status="noop"} 0
ltc_etl_runs_total{etl_job="crm",status="success"} 1
# HELP ltc_etl_rows_loaded_total Source rows merged into the warehouse, by job.
# TYPE ltc_etl_rows_loaded_total counter
ltc_etl_rows_loaded_total{etl_job="crm"} 97
# HELP ltc_etl_rows_quarantined_total Source rows rejected into the quarantine, by job.
# TYPE ltc_etl_rows_quarantined_total counter
ltc_etl_rows_quarantined_total{etl_job="crm"} 2
# HELP ltc_etl_rows_duplicate_total Source rows skipped as duplicates of rows already loaded, by job.
# TYPE ltc_etl_rows_duplicate_total counter
ltc_etl_rows_duplicate_total{etl_job="crm"} 1
# HELP ltc_data_version Warehouse data version: a counter bumped by every ETL commit.
# TYPE ltc_data_version gauge
ltc_data_version 4
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"ltc_etl_last_run_timestamp_seconds", "ltc_etl_last_success_timestamp_seconds", "ltc_etl_runs_total",
		"ltc_etl_rows_loaded_total", "ltc_etl_rows_quarantined_total", "ltc_etl_rows_duplicate_total",
		"ltc_data_version"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.duration, "ltc_etl_run_duration_seconds"); n != 1 {
		t.Errorf("duration series = %d, want 1", n)
	}
	problems, err := testutil.GatherAndLint(reg, "ltc_etl_run_duration_seconds", "ltc_etl_runs_total",
		"ltc_etl_last_success_timestamp_seconds", "ltc_data_version")
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestETLMetricsSeed(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	for _, s := range []string{
		`INSERT INTO etl_runs (run_id, job, started_at, finished_at, status) VALUES
			(1, 'crm', '2026-03-01 06:00:00', '2026-03-01 06:01:30', 'success'),
			(2, 'crm', '2026-03-02 06:00:00', '2026-03-02 06:00:01', 'failed'),
			(3, 'erp', '2026-03-02 07:00:00', '2026-03-02 07:00:01', 'failed')`,
		`UPDATE data_version SET version = 9, updated_at = now()`,
	} {
		if _, err := db.Write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	reg := NewRegistry()
	m := NewETLMetrics(reg)
	if err := m.Seed(ctx, db); err != nil {
		t.Fatal(err)
	}
	crmSuccess := float64(time.Date(2026, 3, 1, 6, 1, 30, 0, time.UTC).Unix())
	if got := testutil.ToFloat64(m.lastSuccess.WithLabelValues("crm")); got != crmSuccess {
		t.Errorf("crm last success = %v, want %v", got, crmSuccess)
	}
	crmRun := float64(time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC).Unix())
	if got := testutil.ToFloat64(m.lastRun.WithLabelValues("crm")); got != crmRun {
		t.Errorf("crm last run = %v, want %v", got, crmRun)
	}
	if n := testutil.CollectAndCount(m.lastSuccess); n != 1 {
		t.Errorf("last success series = %d, want 1 (erp never succeeded)", n)
	}
	if got := testutil.ToFloat64(m.dataVersion); got != 9 {
		t.Errorf("data version = %v", got)
	}
	if n := testutil.CollectAndCount(m.runs); n != 6 {
		t.Errorf("runs series = %d, want 6 (2 jobs × 3 statuses at 0)", n)
	}
}
