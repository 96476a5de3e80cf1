// Package mavencrm_test imports the real Maven CRM export through examples/maven-crm/ltc.yaml and
// checks the published reference figures (../shared/data/maven-crm/README.md).
package mavencrm_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/internal/testenv"
	"github.com/ltc-analytics/ltc/schema"
)

// dataDir returns the shared Maven CRM folder, skipping (or failing in CI) when it is absent.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs("../../../shared/data/maven-crm")
	testenv.File(t, filepath.Join(dir, "sales_pipeline.csv"), "the Maven CRM dataset (../shared/data/maven-crm)")
	return dir
}

// Import loads the example config into an in-memory warehouse and returns it.
func Import(t *testing.T) *schema.DB {
	t.Helper()
	dataDir(t)
	ctx := context.Background()
	cfg, err := config.Load("ltc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	model, err := cfg.Model()
	if err != nil {
		t.Fatal(err)
	}
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := etl.NewRunner(etl.Options{DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve, DeriveEvents: cfg.ETL.DeriveEvents})
	results, err := r.RunAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		if res.RowsRead != res.RowsLoaded+res.RowsQuarantined+res.RowsDuplicate {
			t.Errorf("%s: rows not accounted for: %+v", res.Job, res)
		}
	}
	return db
}

func TestMavenImportMatchesPublishedFigures(t *testing.T) {
	db := Import(t)
	one := func(q string) float64 {
		t.Helper()
		var v float64
		if err := db.Read.QueryRow(q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	checks := []struct {
		name string
		q    string
		want float64
	}{
		{"opportunities", "SELECT count(*) FROM opportunities", 8800},
		{"won", "SELECT count(*) FROM opportunities WHERE status = 'won'", 4238},
		{"lost", "SELECT count(*) FROM opportunities WHERE status = 'lost'", 2473},
		{"open", "SELECT count(*) FROM opportunities WHERE status = 'open'", 2089},
		{"won value", "SELECT sum(amount) FROM opportunities WHERE status = 'won'", 10005534},
		{"distinct owners", "SELECT count(DISTINCT owner_id) FROM opportunities", 30},
		{"accounts", "SELECT count(*) FROM accounts", 85},
		{"agents", "SELECT count(*) FROM employees", 35},
		{"quarantined", "SELECT count(*) FROM quarantine", 0},
		{"owners with a region", "SELECT count(DISTINCT owner_id) FROM opportunities WHERE region IS NOT NULL", 30},
		{"Darcel Schlecht won value", "SELECT sum(amount) FROM opportunities WHERE status = 'won' AND owner_id = 'Darcel Schlecht'", 1153214},
		{"engaged events", "SELECT count(*) FROM stage_events WHERE stage = 'opportunity_created'", 8300},
		{"won events", "SELECT count(*) FROM stage_events WHERE stage = 'contract_signed'", 4238},
		{"lost events (personal tier)", "SELECT count(*) FROM stage_events WHERE activity = 'Opportunity Lost' AND stage IS NULL", 2473},
		{"misspelt sector mapped", "SELECT count(*) FROM accounts WHERE industry = 'technolgy'", 0},
	}
	for _, c := range checks {
		if got := one(c.q); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	// Won value by manager (the team dimension), as published.
	byManager := map[string]float64{"Melvin Marxen": 2251930, "Summer Sewald": 1964750, "Rocco Neubert": 1960545,
		"Celia Rouche": 1603897, "Cara Losch": 1130049, "Dustin Brinkmann": 1094363}
	rows, err := db.Read.Query(`SELECT e.team, sum(o.amount) FROM opportunities o JOIN employees e ON e.employee_id = o.owner_id
		WHERE o.status = 'won' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var team string
		var v float64
		rows.Scan(&team, &v)
		if byManager[team] != v {
			t.Errorf("won value of %s: %v, want %v", team, v, byManager[team])
		}
		delete(byManager, team)
	}
	if len(byManager) > 0 {
		t.Errorf("managers missing: %v", byManager)
	}
}
