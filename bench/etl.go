package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// base loads every source except the event log into w.dir/base.duckdb (once per run): the
// warehouse the event log timings load into, as in production where the log lands beside the CRM.
func (w *work) base(ctx context.Context) (string, error) {
	path := filepath.Join(w.dir, "base.duckdb")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	db, err := schema.Open(ctx, path, schema.Options{})
	if err != nil {
		return "", err
	}
	defer db.Close()
	eng := kpi.New(db, w.d.model, w.d.kpiOptions(-1))
	r := etl.NewRunner(etl.Options{DB: db, Model: w.d.model, Sources: w.d.sources("", "", false, true), Refresh: eng.Refresh})
	if _, err := r.RunAll(ctx); err != nil {
		return "", err
	}
	return path, nil
}

// loadEvents copies the base warehouse to path and times the event log job (stage, validate,
// classify, merge, quarantine, refresh of derived tables, version bump: one committed run).
func (w *work) loadEvents(ctx context.Context, path, glob, format string) (time.Duration, etl.RunResult, error) {
	base, err := w.base(ctx)
	if err != nil {
		return 0, etl.RunResult{}, err
	}
	if err := copyDB(base, path); err != nil {
		return 0, etl.RunResult{}, err
	}
	db, err := schema.Open(ctx, path, schema.Options{})
	if err != nil {
		return 0, etl.RunResult{}, err
	}
	defer db.Close()
	eng := kpi.New(db, w.d.model, w.d.kpiOptions(-1))
	r := etl.NewRunner(etl.Options{DB: db, Model: w.d.model, Sources: w.d.sources(glob, format, true, false), Refresh: eng.Refresh})
	start := time.Now()
	res, err := r.Run(ctx, "events")
	dt := time.Since(start)
	if err == nil && res.RowsRead != res.RowsLoaded+res.RowsQuarantined+res.RowsDuplicate {
		err = fmt.Errorf("row accounting: %+v", res)
	}
	return dt, res, err
}

// readerBaseline times DuckDB's own reader into a table of a fresh file database.
func (w *work) readerBaseline(ctx context.Context, reader, glob string) (time.Duration, error) {
	path := filepath.Join(w.dir, "baseline.duckdb")
	os.Remove(path)
	os.Remove(path + ".wal")
	db, err := schema.Open(ctx, path, schema.Options{})
	if err != nil {
		return 0, err
	}
	defer func() { db.Close(); os.Remove(path) }()
	start := time.Now()
	if _, err := db.Write.ExecContext(ctx, "CREATE TABLE raw_events AS SELECT * FROM "+reader+"($1)", glob); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchETL times the CSV event log load against read_csv, and returns the loaded warehouse.
func benchETL(ctx context.Context, w *work, t *table, size string, reps int, log *slog.Logger) (string, time.Duration, error) {
	loaded := filepath.Join(w.dir, "etl.duckdb")
	glob := filepath.Join(w.events, "*.csv")
	var ltc, base []time.Duration
	var rows int64
	for i := 0; i < reps; i++ {
		dt, res, err := w.loadEvents(ctx, loaded, glob, "csv")
		if err != nil {
			return "", 0, err
		}
		rows = res.RowsRead
		ltc = append(ltc, dt)
		bt, err := w.readerBaseline(ctx, "read_csv", glob)
		if err != nil {
			return "", 0, err
		}
		base = append(base, bt)
		log.Info("etl csv", "size", size, "rep", i, "ltc_s", dt.Seconds(), "read_csv_s", bt.Seconds(), "rows", rows,
			"loaded", res.RowsLoaded, "quarantined", res.RowsQuarantined, "duplicate", res.RowsDuplicate)
	}
	refresh, err := timeRefresh(ctx, w.d, loaded)
	if err != nil {
		return "", 0, err
	}
	etlRows(t, size, "CSV", "read_csv", median(ltc), median(base), rows)
	t.set("ETL: full refresh of derived tables alone (in the load above)", size, secs(refresh))
	return loaded, median(ltc), nil
}

// benchParquet times the Parquet event log load against read_parquet.
func benchParquet(ctx context.Context, w *work, t *table, size string, reps int, log *slog.Logger) error {
	path := filepath.Join(w.dir, "etl-parquet.duckdb")
	defer os.Remove(path)
	var ltc, base []time.Duration
	var rows int64
	for i := 0; i < reps; i++ {
		dt, res, err := w.loadEvents(ctx, path, w.d.parquet, "parquet")
		if err != nil {
			return err
		}
		rows = res.RowsRead
		ltc = append(ltc, dt)
		bt, err := w.readerBaseline(ctx, "read_parquet", w.d.parquet)
		if err != nil {
			return err
		}
		base = append(base, bt)
		log.Info("etl parquet", "size", size, "rep", i, "ltc_s", dt.Seconds(), "read_parquet_s", bt.Seconds())
	}
	etlRows(t, size, "Parquet", "read_parquet", median(ltc), median(base), rows)
	return nil
}

// etlRows writes the rows of one format's load timing.
func etlRows(t *table, size, format, reader string, ltc, base time.Duration, rows int64) {
	r1 := "ETL " + format + " event log: ltc (validate, quarantine, merge, refresh)"
	t.set(r1, size, fmt.Sprintf("%s · %s rows/s", secs(ltc), si(float64(rows)/ltc.Seconds())))
	r2 := "ETL " + format + " event log: DuckDB " + reader + " → table"
	t.set(r2, size, fmt.Sprintf("%s · %s rows/s", secs(base), si(float64(rows)/base.Seconds())))
	r3 := "ETL " + format + ": ratio ltc / " + reader
	t.set(r3, size, ratio(ltc, base, 1.5))
	t.target(r3, "≤ 1.5")
}

// timeRefresh times one refresh of the derived tables on a loaded warehouse (rolled back).
func timeRefresh(ctx context.Context, d *data, path string) (time.Duration, error) {
	db, err := schema.Open(ctx, path, schema.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	eng := kpi.New(db, d.model, d.kpiOptions(-1))
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// A full rebuild, as the first load does (the committed warehouse has nothing left to refresh).
	if _, err := tx.ExecContext(ctx, "UPDATE data_version SET refresh_full = true"); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := eng.Refresh(ctx, tx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// writeIncrement writes a new event file holding 1% of the cases' events under new case ids
// (suffix tag), as a source system's next export would, and returns its row count.
func writeIncrement(ctx context.Context, d *data, path, tag string, bucket int) (int64, error) {
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	q := fmt.Sprintf(`COPY (SELECT case_id || '-%s' AS case_id, * EXCLUDE (case_id) FROM read_csv('%s', all_varchar = true)
		WHERE hash(case_id) %% 100 = %d) TO '%s' (HEADER)`, lit(tag), lit(d.eventGlob()), bucket, lit(path))
	if _, err := db.Write.ExecContext(ctx, q); err != nil {
		return 0, err
	}
	var n int64
	err = db.Write.QueryRowContext(ctx, "SELECT count(*) FROM read_csv($1)", path).Scan(&n)
	return n, err
}

// benchIncremental adds one new file of 1% more events per run to the loaded warehouse (the
// events of 1% of the cases, as new cases) and times the event job, which stages only the new file
// (the others are unchanged) and refreshes the derived tables for the cases it touched.
func benchIncremental(ctx context.Context, w *work, loaded string, full time.Duration, t *table, size string, reps int, log *slog.Logger) error {
	db, err := schema.Open(ctx, loaded, schema.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	eng := kpi.New(db, w.d.model, w.d.kpiOptions(-1))
	r := etl.NewRunner(etl.Options{DB: db, Model: w.d.model, Sources: w.d.sources(filepath.Join(w.events, "*.csv"), "csv", true, false), Refresh: eng.Refresh})
	var ds []time.Duration
	var rows int64
	for i := 0; i < reps; i++ {
		n, err := writeIncrement(ctx, w.d, filepath.Join(w.events, fmt.Sprintf("zz-increment-%d.csv", i)), fmt.Sprintf("inc%d", i), i)
		if err != nil {
			return err
		}
		start := time.Now()
		res, err := r.Run(ctx, "events")
		if err != nil {
			return err
		}
		if res.Files != 1 || res.RowsRead != n {
			return fmt.Errorf("incremental run read %d files, %d rows; want 1 file, %d rows", res.Files, res.RowsRead, n)
		}
		ds = append(ds, time.Since(start))
		rows = n
		log.Info("etl incremental", "size", size, "rep", i, "s", ds[i].Seconds(), "rows", n)
	}
	row := "ETL incremental: +1% events in one new file (stage it + refresh the touched cases)"
	t.set(row, size, fmt.Sprintf("%s · %s rows", secs(median(ds)), si(float64(rows))))
	t.target(row, "∝ new data")
	row = "ETL incremental / full event log load"
	t.set(row, size, ratio(median(ds), full, 0))
	t.target(row, "≈ 0.01 + fixed scans")
	return nil
}
