package kpi

import (
	"context"
	"testing"
)

// TestIncrementalRefreshKeepsKpiCaseClustered: an incremental refresh appends the touched cases'
// new rows, out of case-start order; once the rewritten cases exceed clusterShare (10%) of
// kpi_case, kpi_case is sorted by case start again. The fixture has 12 cases: touching O9 (the
// earliest start, 02-01) rewrites 1 ≤ 1.2 and leaves it last; touching L10 (02-10) makes 2 > 1.2.
func TestIncrementalRefreshKeepsKpiCaseClustered(t *testing.T) {
	e, db := newFixture(t)
	ctx := context.Background()
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.Write.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("SELECT count(*) FROM kpi_case"); n != 12 {
		t.Fatalf("fixture cases %d, want 12", n)
	}
	// Rows whose case start is earlier than the row before them, in storage (rowid) order.
	descents := `SELECT count(*) FROM (SELECT started_at < lag(started_at) OVER (ORDER BY rowid) AS d FROM kpi_case) WHERE d`
	touch := func(cases ...string) {
		t.Helper()
		tx, err := db.Write.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// The fixture's rows were inserted directly, not by the ETL, which clears this after a commit.
		if _, err := tx.ExecContext(ctx, "UPDATE data_version SET refresh_full = false"); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if _, err := tx.ExecContext(ctx, "INSERT INTO refresh_cases VALUES (?)", c); err != nil {
				t.Fatal(err)
			}
		}
		if full, n, err := RefreshMode(ctx, tx); err != nil || full || n != int64(len(cases)) {
			t.Fatalf("refresh mode full %v, touched %d, err %v; want incremental over %d", full, n, err, len(cases))
		}
		if err := e.Refresh(ctx, tx); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM refresh_cases"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(descents); n != 0 {
		t.Fatalf("after the full refresh: %d descents, want 0", n)
	}
	touch("O9")
	if n := count(descents); n != 1 {
		t.Fatalf("after touching O9: %d descents, want 1 (its row appended last)", n)
	}
	touch("L10")
	if n := count(descents); n != 0 {
		t.Fatalf("after touching L10: %d descents, want 0 (kpi_case sorted again)", n)
	}
	if n := count("SELECT count(*) FROM kpi_case"); n != 12 {
		t.Fatalf("cases after the sort %d, want 12", n)
	}
}
