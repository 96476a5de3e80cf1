// Package postgrescrm_test loads examples/postgres-crm/seed.sql into a private PostgreSQL server
// and runs examples/postgres-crm/ltc.yaml against it: ltc check is clean, the rows load, and an
// update is read incrementally.
package postgrescrm_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/ltc-analytics/ltc/internal/testpg"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

func TestPostgresExample(t *testing.T) {
	pg := testpg.Start(t)
	seed, err := os.ReadFile("seed.sql")
	if err != nil {
		t.Fatal(err)
	}
	pg.Exec(string(seed))
	t.Setenv("LTC_PG_PASSWORD", testpg.Password)
	t.Setenv("LTC_PG_HOST", fmt.Sprintf("127.0.0.1:%d", pg.Port))
	w := testwarehouse.Example(t, "ltc.yaml")
	db := w.DB
	str := func(q string) string {
		t.Helper()
		var s string
		if err := db.Read.QueryRow(q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return s
	}
	// By hand from seed.sql: 3 accounts; 6 leads (L6 open → new); O4 is soft-deleted, so 3
	// opportunities: O1 won (closed 17:00+01 = 16:00 UTC), O2 lost, O3 open.
	checks := map[string]string{
		"SELECT count(*)::VARCHAR FROM accounts":                                                      "3",
		"SELECT string_agg(lead_id || ':' || status, ' ' ORDER BY lead_id) FROM leads":                "L1:converted L2:converted L3:converted L4:converted L5:qualified L6:new",
		"SELECT string_agg(opportunity_id || ':' || status, ' ' ORDER BY 1) FROM opportunities":       "O1:won O2:lost O3:open",
		"SELECT strftime(closed_at, '%Y-%m-%d %H:%M') FROM opportunities WHERE opportunity_id = 'O1'": "2026-02-20 16:00",
		"SELECT count(*)::VARCHAR FROM quarantine":                                                    "0",
	}
	for q, want := range checks {
		if got := str(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	// O3 is won: the next run reads that one row.
	pg.Exec(`UPDATE crm.opportunities SET stage = 'Closed Won', closed_at = '2026-03-02 12:00+01', updated_at = now() WHERE id = 'O3'`)
	res, err := w.Runner.Run(context.Background(), "opportunities")
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsRead != 1 || res.RowsLoaded != 1 {
		t.Errorf("incremental run: %+v", res)
	}
	if got := str("SELECT string_agg(opportunity_id || ':' || status, ' ' ORDER BY 1) FROM opportunities"); got != "O1:won O2:lost O3:won" {
		t.Errorf("after the update: %s", got)
	}
}
