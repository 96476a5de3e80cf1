package etl

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/internal/testpg"
)

const dealsDDL = `CREATE TABLE deals (id text PRIMARY KEY, stage text NOT NULL, amount numeric(12,2),
	created timestamptz, updated_at timestamptz NOT NULL);
INSERT INTO deals VALUES
	('D1', 'Open', 100, '2026-01-01 09:00+01', '2026-01-01 10:00+00'),
	('D2', 'Won', 200, '2026-01-01 09:00+01', '2026-01-01 10:00+00'),
	('D3', 'Lost', 50, '2026-01-01 09:00+01', '2026-01-01 10:00+00'),
	('D4', 'Maybe', 10, '2026-01-01 09:00+01', '2026-01-01 10:00+00')`

func dealsSpec(dsn string) source.Spec {
	return source.Spec{Name: "deals", Format: source.FormatPostgres, Target: "opportunities",
		Postgres: source.Postgres{DSN: dsn, Table: "public.deals", Cursor: "updated_at", BatchSize: 2},
		Columns: map[string]source.Column{
			"opportunity_id": {From: "id"},
			"created_at":     {From: "created"},
			"status":         {From: "stage", Map: map[string]string{"Won": "won", "Lost": "lost", "Open": "open"}},
		}}
}

func (f *fixture) opps() string {
	return f.str("SELECT string_agg(opportunity_id || ':' || status || ':' || amount, ' ' ORDER BY opportunity_id) FROM opportunities")
}

// TestPostgresIncrementalLoad: a first load (a bad row quarantined by key), a no-op, an
// incremental run after an update and an insert (only those two rows read), a delete seen by the
// full compare only, and the checks of ltc check.
func TestPostgresIncrementalLoad(t *testing.T) {
	pg := testpg.Start(t)
	pg.Exec(dealsDDL)
	f := newFixture(t)
	ctx := context.Background()
	spec := dealsSpec(pg.DSN("crm", testpg.Password))
	var progress bytes.Buffer
	r := f.runner(nil, spec)
	r.opts.Progress = &progress

	res := mustRun(t, r, "deals")
	// D4's stage Maybe maps to no status: quarantined; the others load.
	if res.Status != StatusSuccess || res.RowsRead != 4 || res.RowsLoaded != 3 || res.RowsQuarantined != 1 {
		t.Fatalf("first run: %+v", res)
	}
	if got := f.opps(); got != "D1:open:100.00 D2:won:200.00 D3:lost:50.00" {
		t.Errorf("after the first run: %s", got)
	}
	// created 09:00+01 is 08:00 UTC.
	if got := f.str("SELECT strftime(created_at, '%Y-%m-%d %H:%M') FROM opportunities WHERE opportunity_id = 'D1'"); got != "2026-01-01 08:00" {
		t.Errorf("created_at %s, want 2026-01-01 08:00 (UTC)", got)
	}
	var file, reason string
	var line *int64
	if err := f.db.Read.QueryRow("SELECT file, line, reason FROM quarantine").Scan(&file, &line, &reason); err != nil {
		t.Fatal(err)
	}
	if file != "postgres:deals/public.deals" || line != nil || !strings.HasPrefix(reason, "key opportunity_id=D4: status: 'Maybe' is not one of") {
		t.Errorf("quarantine: file %q, line %v, reason %q", file, line, reason)
	}
	if got := f.str("SELECT cursor FROM etl_files WHERE job = 'deals'"); got != "2026-01-01 10:00:00+00" {
		t.Errorf("high-water mark %q", got)
	}

	// Nothing above the cursor: a no-op.
	if res := mustRun(t, r, "deals"); res.Status != StatusNoop {
		t.Errorf("second run: %+v", res)
	}

	// D1 updated, D5 inserted: only those two rows are read.
	pg.Exec(`UPDATE deals SET stage = 'Won', amount = 150, updated_at = '2026-01-02 10:00+00' WHERE id = 'D1';
		INSERT INTO deals VALUES ('D5', 'Open', 70, '2026-01-02 09:00+00', '2026-01-02 10:00+00')`)
	progress.Reset()
	res = mustRun(t, r, "deals")
	if res.RowsRead != 2 || res.RowsLoaded != 2 || res.RowsQuarantined != 0 || res.RowsConflict != 0 {
		t.Fatalf("incremental run: %+v", res)
	}
	if !strings.Contains(progress.String(), "2 loaded (1 updated)") {
		t.Errorf("progress: %s", progress.String())
	}
	if got := f.opps(); got != "D1:won:150.00 D2:won:200.00 D3:lost:50.00 D5:open:70.00" {
		t.Errorf("after the incremental run: %s", got)
	}

	// A deleted row stays until the full compare.
	pg.Exec(`DELETE FROM deals WHERE id = 'D2'`)
	if res := mustRun(t, r, "deals"); res.Status != StatusNoop {
		t.Errorf("run after a delete: %+v", res)
	}
	spec.FullCompareEvery = "1ms"
	time.Sleep(2 * time.Millisecond)
	res = mustRun(t, f.runner(nil, spec), "deals")
	if res.RowsRead != 4 || res.RowsLoaded != 3 || res.RowsQuarantined != 1 {
		t.Fatalf("full compare: %+v", res)
	}
	if got := f.opps(); got != "D1:won:150.00 D3:lost:50.00 D5:open:70.00" {
		t.Errorf("after the full compare: %s", got)
	}

	// Without a cursor every run reads every row; reading the same rows again is a no-op.
	all := dealsSpec(pg.DSN("crm", testpg.Password))
	all.Name, all.Cursor = "all", ""
	ra := f.runner(nil, all)
	if res := mustRun(t, ra, "all"); res.Status != StatusSuccess || res.RowsRead != 4 || res.RowsDuplicate != 3 {
		t.Errorf("full read: %+v (want D1, D3, D5 duplicates of the deals source's rows, D4 quarantined)", res)
	}
	if res := mustRun(t, ra, "all"); res.Status != StatusNoop {
		t.Errorf("same rows again: %+v", res)
	}
	pg.Exec(`UPDATE deals SET amount = 55 WHERE id = 'D3'`)
	if res := mustRun(t, ra, "all"); res.Status != StatusSuccess || res.RowsLoaded != 1 || res.RowsConflict != 1 {
		t.Errorf("after an update: %+v (want D3 loaded, replacing the deals source's row)", res)
	}

	// ltc check: the connection and the columns (and the cursor) the mapping reads.
	bad := dealsSpec(pg.DSN("crm", testpg.Password))
	bad.Cursor = "changed_at"
	bad.Columns["amount"] = source.Column{From: "value"}
	errs := CheckSources(ctx, f.db.Read, []source.Spec{dealsSpec(pg.DSN("crm", testpg.Password)), bad}, func(p string) string { return p })
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), `missing column "value" (for amount)`) ||
		!strings.Contains(errs[1].Error(), `missing column "changed_at" (for the cursor)`) {
		t.Errorf("check: %v", errs)
	}
	wrong := dealsSpec(pg.DSN("crm", "not-the-password"))
	errs = CheckSources(ctx, f.db.Read, []source.Spec{wrong}, func(p string) string { return p })
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "cannot connect") || strings.Contains(errs[0].Error(), "not-the-password") {
		t.Errorf("check with a wrong password: %v", errs)
	}
}

// TestPostgresServerStopsMidRun: the server stops while a run fetches (one row per fetch, each
// taking 300 ms): the run fails, and the warehouse keeps exactly what it had.
func TestPostgresServerStopsMidRun(t *testing.T) {
	pg := testpg.Start(t)
	pg.Exec(dealsDDL)
	f := newFixture(t)
	spec := dealsSpec(pg.DSN("crm", testpg.Password))
	r := f.runner(nil, spec)
	first := mustRun(t, r, "deals")
	before := f.opps()

	pg.Exec(`UPDATE deals SET stage = 'Lost', updated_at = '2026-01-03 10:00+00'`)
	slow := spec
	slow.Name, slow.Cursor, slow.BatchSize = "slow", "", 1
	slow.Table, slow.Query = "", "SELECT d.*, pg_sleep(0.3)::text AS pause FROM deals d"
	r = f.runner(nil, slow, spec)
	done := make(chan error, 1)
	go func() {
		_, err := r.Run(context.Background(), "slow")
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	pg.Stop()
	err := <-done
	t.Logf("run while the server stopped: %v", err)
	if err == nil || !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("run while the server stopped: err %v, want a postgres error", err)
	}
	_, err = r.Run(context.Background(), "deals")
	if err == nil || !strings.Contains(err.Error(), "cannot connect") || strings.Contains(err.Error(), testpg.Password) {
		t.Fatalf("run with the server down: err %v, want cannot connect (and no password)", err)
	}
	if got := f.opps(); got != before {
		t.Errorf("data changed by failed runs: %s, was %s", got, before)
	}
	if n := f.count("SELECT count(*) FROM etl_runs WHERE status = 'failed'"); n != 2 {
		t.Errorf("failed runs recorded: %d, want 2", n)
	}
	if v := f.count("SELECT version FROM data_version"); v != first.DataVersion {
		t.Errorf("data version %d, want %d", v, first.DataVersion)
	}
}
