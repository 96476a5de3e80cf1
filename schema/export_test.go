package schema

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestParquetExportIsUTCWithRelativeSources: the export's timestamps are TIMESTAMP WITH TIME
// ZONE (Parquet isAdjustedToUTC, so Spark reads TIMESTAMP, not TIMESTAMP_NTZ), _file carries no
// host path, and the import gives back the same instants (issue 12, item 15).
func TestParquetExportIsUTCWithRelativeSources(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO stage_events (case_id, activity, occurred_at, source, seq, _file) VALUES
		('c1', 'Lead Created', TIMESTAMP '2026-03-01 23:30:00', 'events', 1, 'events/2026-03.csv'),
		('c2', 'Lead Created', TIMESTAMP '2026-03-02 08:00:00', 'events', 2, '/srv/ltc/data/events-old.csv'),
		('c3', 'Lead Created', TIMESTAMP '2026-03-03 08:00:00', 'events', 3, 'C:\ltc\events-win.csv')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO employees (employee_id, hired_at, _file) VALUES ('e1', TIMESTAMP '2020-01-01 00:00:00', 'employees.csv')`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := ExportParquet(ctx, db, dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ glob, column string }{
		{"stage_events/*/*.parquet", "occurred_at"},
		{"employees/data.parquet", "hired_at"},
	} {
		var logical string
		if err := db.Read.QueryRowContext(ctx, `SELECT any_value(logical_type::VARCHAR) FROM parquet_schema($1) WHERE name = $2`,
			filepath.Join(dir, c.glob), c.column).Scan(&logical); err != nil {
			t.Fatal(err)
		}
		if want := "isAdjustedToUTC=1"; !strings.Contains(logical, want) {
			t.Errorf("%s: logical type %q, want %s", c.column, logical, want)
		}
	}
	var files string
	if err := db.Read.QueryRowContext(ctx, "SELECT string_agg(_file, ',' ORDER BY _file) FROM read_parquet($1)",
		filepath.Join(dir, "stage_events/*/*.parquet")).Scan(&files); err != nil {
		t.Fatal(err)
	}
	if files != "events-old.csv,events-win.csv,events/2026-03.csv" {
		t.Errorf("_file in the export: %s", files)
	}
	back, err := Open(ctx, "", Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := ImportParquet(ctx, back, dir); err != nil {
		t.Fatal(err)
	}
	var at string
	if err := back.Read.QueryRowContext(ctx, "SELECT occurred_at::VARCHAR FROM stage_events WHERE case_id = 'c1'").Scan(&at); err != nil {
		t.Fatal(err)
	}
	if at != "2026-03-01 23:30:00" {
		t.Errorf("round trip: %s, want 2026-03-01 23:30:00", at)
	}
}
