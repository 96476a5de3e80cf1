package kpi

import (
	"context"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

// TestRefreshKeepsSchema checks that the tables Refresh rewrites with CREATE OR REPLACE TABLE … AS
// have the columns and types migration 003 declares (queries may run before the first Refresh).
func TestRefreshKeepsSchema(t *testing.T) {
	ctx := context.Background()
	_, refreshed := newFixture(t)
	fresh, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	columns := func(db *schema.DB) map[string]string {
		rows, err := db.Read.QueryContext(ctx, `SELECT table_name, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
			FROM information_schema.columns WHERE table_name LIKE 'kpi\_%' ESCAPE '\' GROUP BY table_name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, cols string
			if err := rows.Scan(&name, &cols); err != nil {
				t.Fatal(err)
			}
			out[name] = cols
		}
		return out
	}
	want, got := columns(fresh), columns(refreshed)
	if len(want) != 7 {
		t.Errorf("migration creates %d kpi_ tables, want 7", len(want))
	}
	for name, cols := range want {
		if got[name] != cols {
			t.Errorf("%s after Refresh:\n  %s\nwant (migration 003):\n  %s", name, got[name], cols)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok && strings.HasPrefix(name, "kpi_") {
			t.Errorf("Refresh left table %s that the migration does not create", name)
		}
	}
}

// TestRefreshBranchWithoutRule refreshes with a model whose only branch has no `when` rule (as
// imported CRM models do): every case takes it.
func TestRefreshBranchWithoutRule(t *testing.T) {
	_, db := newFixture(t)
	m, err := schema.ParseModel("one.yaml", []byte(`process:
  name: one
  branches: [{id: only}]
  stages:
    - {id: lead_created, name: Lead created, tier: core, activities: ["Lead Created"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng := New(db, m, Options{})
	refresh(t, eng, db)
	bd, err := eng.Funnel(context.Background(), march(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The March cohort of the fixture (9 cases) all reached lead_created.
	checkValue(t, "reached", bd.Total.Stages[0].Reached, 9, 2, 9, 2, f(7))
	var n int
	if err := db.Read.QueryRow("SELECT count(*) FROM kpi_case WHERE branch = 'only'").Scan(&n); err != nil || n != 11 {
		t.Errorf("cases on branch only = %d (%v), want 11 (O5's opportunity sets complex)", n, err)
	}
}

func BenchmarkRefresh(b *testing.B) {
	benchEngine(b)
	ctx := context.Background()
	for b.Loop() {
		tx, err := bench.db.Write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := bench.eng.Refresh(ctx, tx); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshIncremental refreshes after a change touching 1% of the cases (recorded in
// refresh_cases as the ETL does), rolled back each time; compare with BenchmarkRefresh (full) in
// the same run: go test ./schema/kpi -run '^$' -bench 'Refresh' -count 5.
func BenchmarkRefreshIncremental(b *testing.B) {
	benchEngine(b)
	ctx := context.Background()
	full, err := bench.db.Write.BeginTx(ctx, nil) // make sure the derived tables exist and are whole
	if err != nil {
		b.Fatal(err)
	}
	if err := bench.eng.Refresh(ctx, full); err != nil {
		b.Fatal(err)
	}
	if err := full.Commit(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tx, err := bench.db.Write.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE data_version SET refresh_full = false;
			INSERT INTO refresh_cases SELECT case_id FROM kpi_case WHERE hash(case_id) % 100 = 0`); err != nil {
			b.Fatal(err)
		}
		if err := bench.eng.Refresh(ctx, tx); err != nil {
			b.Fatal(err)
		}
		tx.Rollback()
	}
}
