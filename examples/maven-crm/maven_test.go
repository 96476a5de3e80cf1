// Package mavencrm_test imports the real Maven CRM export through examples/maven-crm/ltc.yaml and
// checks the published reference figures (../shared/data/maven-crm/README.md).
package mavencrm_test

import (
	"testing"

	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

func TestMavenImportMatchesPublishedFigures(t *testing.T) {
	db := testwarehouse.Maven(t).DB
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
