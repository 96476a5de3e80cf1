package schema

import (
	"context"
	"path/filepath"
	"testing"
)

// canonicalTables are the tables DESIGN §3 requires.
var canonicalTables = []string{"accounts", "employees", "leads", "opportunities", "stage_events",
	"contracts", "deliveries", "invoices", "payments", "assignments", "marketing_spend", "initiatives",
	"schema_migrations", "etl_runs", "etl_files", "quarantine"}

func TestMigrateFromEmptyAndRerun(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range canonicalTables {
		var n int
		if err := db.Read.QueryRowContext(ctx,
			"SELECT count(*) FROM information_schema.tables WHERE table_name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: n=%d err=%v", table, n, err)
		}
	}
	applied, err := Migrate(ctx, db.Write)
	if err != nil || len(applied) != 0 {
		t.Fatalf("re-run applied %v, err %v; want nothing", applied, err)
	}
	ms, _ := Migrations()
	var v int
	db.Read.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v)
	if v != ms[len(ms)-1].Version {
		t.Errorf("version %d, want %d", v, ms[len(ms)-1].Version)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Reopen: nothing to apply, data kept.
	db, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if applied, err := Migrate(ctx, db.Write); err != nil || len(applied) != 0 {
		t.Fatalf("reopen applied %v, err %v", applied, err)
	}
}

func TestDeleteInsertSameKeyInOneTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Write.ExecContext(ctx, "INSERT INTO accounts (account_id, name, _file) VALUES ('a', 'old', 'f')"); err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Write.BeginTx(ctx, nil)
	if _, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE account_id = 'a'"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO accounts (account_id, name, _file) VALUES ('a', 'new', 'f')"); err != nil {
		t.Fatalf("re-insert after delete in one transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
