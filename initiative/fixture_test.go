package initiative

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// at parses a fixture time ("MM-DD" or "MM-DD hh:mm:ss", 2025, UTC).
func at(s string) time.Time {
	if len(s) == 5 {
		s += " 00:00:00"
	}
	t, err := time.Parse(time.DateTime, "2025-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

// refresh rebuilds the derived tables in one transaction with a new data version, as an ETL
// commit does.
func refresh(t testing.TB, eng *kpi.Engine, db *schema.DB) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := eng.Refresh(ctx, tx); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "UPDATE data_version SET version = version + 1, updated_at = now() RETURNING version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.SetVersion(v)
}

// near fails unless got is within tol of want.
func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v (±%g)", name, got, want, tol)
	}
}

// TestKPIsInCatalog: every initiative KPI is a catalog KPI whose unit its statistics need (a
// ratio for the z-test, days for the Mann–Whitney U test).
func TestKPIsInCatalog(t *testing.T) {
	for _, ik := range KPIs() {
		k, ok := kpi.LookupKPI(string(ik))
		if !ok {
			t.Errorf("initiative KPI %q is not in the catalog", ik)
			continue
		}
		if want := map[bool]kpi.Unit{true: kpi.UnitRatio, false: kpi.UnitDays}[ik.IsRate()]; k.Unit != want {
			t.Errorf("initiative KPI %q: catalog unit %s, its statistics need %s", ik, k.Unit, want)
		}
	}
}
