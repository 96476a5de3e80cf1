package schema

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSnapshotPublishesConsistentCopies(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(ctx, filepath.Join(dir, "w.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("INSERT INTO accounts (account_id, name, _file) VALUES ('a1', 'Acme', 'f')")
	exec("UPDATE data_version SET version = 1")
	snaps := filepath.Join(dir, "snapshots")
	first, err := Snapshot(ctx, db, snaps)
	if err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO accounts (account_id, name, _file) VALUES ('a2', 'Beta', 'f')")
	exec("UPDATE data_version SET version = 2")
	second, err := Snapshot(ctx, db, snaps)
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := CurrentSnapshot(snaps); err != nil || cur != second {
		t.Fatalf("current %q (%v), want %q", cur, err, second)
	}
	for path, want := range map[string]int{first: 1, second: 2} {
		ro, err := Open(ctx, path, Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var n, v int
		ro.Read.QueryRowContext(ctx, "SELECT count(*) FROM accounts").Scan(&n)
		ro.Read.QueryRowContext(ctx, "SELECT version FROM data_version").Scan(&v)
		if n != want || v != want {
			t.Errorf("%s: %d accounts at version %d, want %d", filepath.Base(path), n, v, want)
		}
		if _, err := ro.Read.ExecContext(ctx, "INSERT INTO accounts (account_id, _file) VALUES ('x', 'f')"); err == nil {
			t.Error("a read-only snapshot accepted a write")
		}
		ro.Close()
	}
	if err := PruneSnapshots(snaps, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("old snapshot not pruned: %v", err)
	}
	if _, err := os.Stat(second); err != nil {
		t.Errorf("current snapshot pruned: %v", err)
	}
}

func TestExportParquetRoundTrip(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"INSERT INTO accounts (account_id, name, _file) VALUES ('a1', 'Acme', 'f')",
		`INSERT INTO stage_events (case_id, stage, activity, occurred_at, source, seq, _file) VALUES
			('c1', 'lead_created', 'Lead Created', '2025-01-31 23:59:59', 's', 1, 'f'),
			('c1', NULL, 'Call', '2025-02-01 00:00:00', 's', 2, 'f'),
			('c2', 'lead_created', 'Lead Created', '2025-03-05 10:00:00', 's', 1, 'f')`,
		"INSERT INTO opportunities (opportunity_id, status, amount, _file) VALUES ('o1', 'open', 10.5, 'f')",
	} {
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	rows, err := ExportParquet(ctx, db, dir)
	if err != nil {
		t.Fatal(err)
	}
	if rows["stage_events"] != 3 || rows["accounts"] != 1 {
		t.Errorf("rows %v", rows)
	}
	for _, p := range []string{"stage_events/month=2025-01", "stage_events/month=2025-02", "stage_events/month=2025-03",
		"opportunities/month=unknown", "accounts/data.parquet"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("missing %s: %v", p, err)
		}
	}
	back, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := ImportParquet(ctx, back, dir); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT string_agg(case_id || coalesce(stage, '-') || strftime(occurred_at, '%Y-%m-%d %H:%M:%S') || seq, ',' ORDER BY case_id, seq) FROM stage_events",
		"SELECT string_agg(opportunity_id || status || amount, ',') FROM opportunities",
		"SELECT string_agg(account_id || name, ',') FROM accounts",
	} {
		var a, b string
		db.Read.QueryRowContext(ctx, q).Scan(&a)
		back.Read.QueryRowContext(ctx, q).Scan(&b)
		if a != b || a == "" {
			t.Errorf("%s:\n original %q\n imported %q", q, a, b)
		}
	}
}
