package etl

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

type fixture struct {
	t   *testing.T
	dir string
	db  *schema.DB
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := schema.Open(context.Background(), "", schema.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &fixture{t: t, dir: t.TempDir(), db: db}
}

func (f *fixture) write(name, content string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) runner(refresh Refresher, specs ...source.Spec) *Runner {
	return NewRunner(Options{DB: f.db, Model: schema.StandardModel(), Sources: specs, Refresh: refresh, Root: f.dir,
		Resolve: func(p string) string {
			if filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(f.dir, p)
		}})
}

func (f *fixture) count(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.Read.QueryRow(q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (f *fixture) str(q string, args ...any) string {
	f.t.Helper()
	var s sql.NullString
	if err := f.db.Read.QueryRow(q, args...).Scan(&s); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return s.String
}

func ptr(s string) *string { return &s }

var oppSpec = source.Spec{Name: "opps", Format: "csv", Glob: "opps/*.csv", Target: "opportunities",
	Columns: map[string]source.Column{
		"opportunity_id": {From: "id"},
		"status":         {From: "stage", Map: map[string]string{"Won": "won", "Lost": "lost", "Open": "open"}},
	}}

func mustRun(t *testing.T, r *Runner, job string) RunResult {
	t.Helper()
	res, err := r.Run(context.Background(), job)
	if err != nil {
		t.Fatalf("run %s: %v", job, err)
	}
	if res.RowsRead != res.RowsLoaded+res.RowsQuarantined+res.RowsDuplicate {
		t.Fatalf("accounting: %+v", res)
	}
	return res
}

func TestIdempotentAndReplaceByFile(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage,amount,created_at\no1,Won,100,2025-01-01\no2,Lost,0,2025-01-02\n")
	f.write("opps/b.csv", "id,stage,amount,created_at\no3,Open,50,2025-02-01\n")
	r := f.runner(nil, oppSpec)
	res := mustRun(t, r, "opps")
	if res.Status != StatusSuccess || res.RowsLoaded != 3 || res.Files != 2 {
		t.Fatalf("first run: %+v", res)
	}
	if got := f.str("SELECT status FROM opportunities WHERE opportunity_id = 'o1'"); got != "won" {
		t.Errorf("value map: status %q, want won", got)
	}
	v1 := res.DataVersion
	// Unchanged files: a no-op that does not bump the data version.
	res = mustRun(t, r, "opps")
	if res.Status != StatusNoop || res.Files != 0 || res.DataVersion != v1 {
		t.Fatalf("second run: %+v (v1 %d)", res, v1)
	}
	if n := f.count("SELECT count(*) FROM opportunities"); n != 3 {
		t.Fatalf("rows after rerun %d, want 3", n)
	}
	// a.csv changes: o2 disappears, o4 appears, o1 changes; b.csv's o3 stays.
	f.write("opps/a.csv", "id,stage,amount,created_at\no1,Lost,0,2025-01-01\no4,Open,70,2025-03-01\n")
	res = mustRun(t, r, "opps")
	if res.Files != 1 || res.RowsLoaded != 2 || res.DataVersion != v1+1 {
		t.Fatalf("third run: %+v", res)
	}
	var ids []string
	rows, _ := f.db.Read.Query("SELECT opportunity_id || ':' || status FROM opportunities ORDER BY 1")
	for rows.Next() {
		var s string
		rows.Scan(&s)
		ids = append(ids, s)
	}
	if got := strings.Join(ids, ","); got != "o1:lost,o3:open,o4:open" {
		t.Errorf("after change: %s", got)
	}
	if n := f.count("SELECT count(*) FROM etl_runs WHERE job = 'opps'"); n != 3 {
		t.Errorf("etl_runs rows %d, want 3", n)
	}
	if n := f.count("SELECT count(*) FROM etl_files WHERE job = 'opps' AND length(sha256) = 64"); n != 2 {
		t.Errorf("manifest rows %d, want 2", n)
	}
}

func TestBadRowsAreQuarantinedWithReasonAndLine(t *testing.T) {
	f := newFixture(t)
	f.write("opps/bad.csv", "id,stage,amount,created_at\n"+
		"o1,Won,100,2025-01-01\n"+ // line 2: ok
		"o2,Won,100,31/12/2025\n"+ // line 3: unparsable date
		"o3,Won,-5,2025-01-01\n"+ // line 4: negative amount
		"o4,Pending,5,2025-01-01\n"+ // line 5: unknown enum
		"o1,Won,100,2025-01-01\n"+ // line 6: exact duplicate of line 2
		"o1,Lost,0,2025-01-01\n"+ // line 7: same key, other values
		"o5,Won\n"+ // line 8: ragged (missing columns)
		"o6,Won,1,2025-01-01,extra\n"+ // line 9: ragged (too many)
		"o7,Won,\xff\xfe,2025-01-01\n"+ // line 10: not UTF-8
		",Won,1,2025-01-01\n"+ // line 11: missing key
		"o8,Open,1,2025-01-01\n") // line 12: ok
	res := mustRun(t, f.runner(nil, oppSpec), "opps")
	if res.RowsRead != 11 || res.RowsLoaded != 2 || res.RowsDuplicate != 1 || res.RowsQuarantined != 8 {
		t.Fatalf("counts: %+v", res)
	}
	want := map[int64]string{
		3:  "created_at: cannot parse '31/12/2025' as a timestamp",
		4:  "amount: negative amount -5",
		5:  "status: 'Pending' is not one of open, won, lost",
		7:  "duplicate key: first seen on line 2 with different values",
		8:  "unreadable record: MISSING COLUMNS",
		9:  "unreadable record: TOO MANY COLUMNS",
		10: "unreadable record: INVALID ENCODING",
		11: "opportunity_id: required value missing",
	}
	rows, err := f.db.Read.Query("SELECT line, reason, file, raw FROM quarantine ORDER BY line")
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for rows.Next() {
		var line int64
		var reason, file string
		var raw sql.NullString
		rows.Scan(&line, &reason, &file, &raw)
		got[line] = reason
		if !strings.HasSuffix(file, "bad.csv") || raw.String == "" {
			t.Errorf("line %d: file %q raw %q", line, file, raw.String)
		}
	}
	for line, w := range want {
		if !strings.Contains(got[line], w) {
			t.Errorf("line %d: reason %q, want it to contain %q", line, got[line], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("quarantined lines %v, want %d", got, len(want))
	}
}

func TestWholeFileRejectionsKeepPreviousData(t *testing.T) {
	f := newFixture(t)
	r := f.runner(nil, oppSpec)
	f.write("opps/a.csv", "id,stage,amount\no1,Won,1\n")
	mustRun(t, r, "opps")
	// A required column is missing: the run fails with a clear error, nothing changes.
	f.write("opps/a.csv", "ident,stage,amount\no9,Won,1\n")
	res, err := r.Run(context.Background(), "opps")
	if err == nil || !strings.Contains(err.Error(), `missing column "id" (needed for opportunity_id)`) || res.Status != StatusFailed {
		t.Fatalf("missing column: err %v, res %+v", err, res)
	}
	if got := f.str("SELECT string_agg(opportunity_id, ',') FROM opportunities"); got != "o1" {
		t.Errorf("data after failed run: %q, want o1", got)
	}
	if got := f.str("SELECT status || ': ' || error FROM etl_runs ORDER BY run_id DESC LIMIT 1"); !strings.Contains(got, "failed: ") {
		t.Errorf("last run: %q", got)
	}
	// Empty and header-only files load nothing and are not errors.
	f.write("opps/a.csv", "id,stage,amount\no1,Won,1\n")
	f.write("opps/empty.csv", "")
	f.write("opps/header.csv", "id,stage,amount\n")
	res = mustRun(t, r, "opps")
	if res.Status != StatusSuccess || res.RowsRead != 0 {
		t.Fatalf("empty/header-only: %+v", res)
	}
}

func TestTruncatedParquetFailsTheRun(t *testing.T) {
	f := newFixture(t)
	spec := source.Spec{Name: "contracts", Format: "parquet", Glob: "*.parquet", Target: "contracts"}
	good := filepath.Join(f.dir, "c.parquet")
	if _, err := f.db.Write.Exec(`COPY (SELECT 'c' || i AS contract_id, 'o' || i AS opportunity_id,
		TIMESTAMP '2025-01-01' + INTERVAL (i) DAY AS signed_at, 100.0 * i AS value FROM range(1, 1001) t(i)) TO '` + good + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	r := f.runner(nil, spec)
	res := mustRun(t, r, "contracts")
	if res.RowsLoaded != 1000 {
		t.Fatalf("parquet load: %+v", res)
	}
	data, _ := os.ReadFile(good)
	os.WriteFile(good, data[:len(data)/2], 0o644)
	if _, err := r.Run(context.Background(), "contracts"); err == nil || !strings.Contains(err.Error(), "read parquet") {
		t.Fatalf("truncated parquet: err %v", err)
	}
	if n := f.count("SELECT count(*) FROM contracts"); n != 1000 {
		t.Errorf("contracts after failed run %d, want 1000", n)
	}
}

func TestFailureMidMergeLeavesDataIntact(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	fail := false
	r := f.runner(func(ctx context.Context, tx *sql.Tx) error {
		if fail {
			return errors.New("injected failure")
		}
		return nil
	}, oppSpec)
	mustRun(t, r, "opps")
	fail = true
	f.write("opps/a.csv", "id,stage\no2,Lost\no3,Won\n")
	if _, err := r.Run(context.Background(), "opps"); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("err %v", err)
	}
	if got := f.str("SELECT string_agg(opportunity_id || status, ',') FROM opportunities"); got != "o1won" {
		t.Errorf("data after failure: %q", got)
	}
	if n := f.count("SELECT count(*) FROM quarantine"); n != 0 {
		t.Errorf("quarantine after rollback %d", n)
	}
	if got := f.str("SELECT status FROM etl_runs ORDER BY run_id DESC LIMIT 1"); got != "failed" {
		t.Errorf("run status %q", got)
	}
	// The failed file was not recorded, so the next run retries it.
	fail = false
	res := mustRun(t, r, "opps")
	if res.RowsLoaded != 2 {
		t.Fatalf("retry: %+v", res)
	}
}

func TestInterruptedRunIsMarkedFailed(t *testing.T) {
	f := newFixture(t)
	f.db.Write.Exec("INSERT INTO etl_runs (run_id, job, started_at, status) VALUES (nextval('etl_run_seq'), 'x', now(), 'running')")
	r := f.runner(nil, oppSpec)
	if n, err := r.RecoverInterrupted(context.Background()); err != nil || n != 1 {
		t.Fatalf("recover: %d %v", n, err)
	}
	if got := f.str("SELECT status FROM etl_runs"); got != "failed" {
		t.Errorf("status %q", got)
	}
}

func TestJSONLinesEventLogLookupsAndZones(t *testing.T) {
	f := newFixture(t)
	f.write("teams.csv", "agent,office\nann,West\nbob,East\n")
	f.write("events.jsonl", `{"case":"c1","act":"Lead Created","at":"2025-03-01 23:30","who":"ann"}
{"case":"c1","act":"Customer Lunch","at":"2025-03-02 10:00","who":"bob"}

{not json
{"case":"c1","act":"Contract Review","at":"2025-03-03 09:00","who":"ann","outcome":"pass"}
{"case":"c1","act":"Contract Review","at":"2025-03-03 09:00","who":"ann","outcome":"pass"}
{"case":"c2","act":"Quote Sent","at":"yesterday"}
{"case":"c2","act":"Contract Review","at":"2025-03-04 09:00"}
`)
	events := source.Spec{Name: "events", Format: "jsonl", Glob: "events.jsonl", Target: "stage_events",
		Timezone: "America/New_York", TimestampFormat: "%Y-%m-%d %H:%M",
		Columns: map[string]source.Column{
			"case_id": {From: "case"}, "activity": {From: "act"}, "occurred_at": {From: "at"},
			"actor_id":   {From: "who"},
			"actor_role": {Lookup: &source.Lookup{File: "teams.csv", Key: "agent", Value: "office", From: "who"}},
		}}
	res := mustRun(t, f.runner(nil, events), "events")
	if res.RowsRead != 7 || res.RowsLoaded != 3 || res.RowsDuplicate != 1 || res.RowsQuarantined != 3 {
		t.Fatalf("counts %+v", res)
	}
	// 23:30 New York (EST, UTC-5) is 04:30 UTC the next day.
	if got := f.str("SELECT strftime(occurred_at, '%Y-%m-%d %H:%M') FROM stage_events WHERE activity = 'Lead Created'"); got != "2025-03-02 04:30" {
		t.Errorf("zone conversion: %s", got)
	}
	if got := f.str("SELECT string_agg(coalesce(stage, 'personal') || '/' || actor_role, ',' ORDER BY seq) FROM stage_events"); got != "lead_created/West,personal/East,contract_review/West" {
		t.Errorf("stages and lookups: %s", got)
	}
	if got := f.str("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM quarantine"); got != "4,7,8" {
		t.Errorf("quarantined lines %s, want 4,7,8", got)
	}
	if got := f.str("SELECT reason FROM quarantine WHERE line = 8"); got != "outcome: required for gate activity 'Contract Review' (pass or fail)" {
		t.Errorf("gate without outcome: %q", got)
	}
}

func TestSchedulerRunsJobs(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	spec := oppSpec
	spec.Schedule = source.Schedule{Every: "1s"}
	done := make(chan RunResult, 10)
	r := NewRunner(Options{DB: f.db, Model: schema.StandardModel(), Sources: []source.Spec{spec},
		Resolve: func(p string) string { return filepath.Join(f.dir, p) },
		OnRun:   func(res RunResult) { done <- res }})
	s, err := NewScheduler(r)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	res := <-done
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSuccess || res.RowsLoaded != 1 {
		t.Fatalf("scheduled run: %+v", res)
	}
}

func TestTimestampOffsetsAreHonoured(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage,created_at\n"+
		"o1,Won,2025-01-01T10:00:00+02:00\n"+
		"o2,Won,2025-01-01T10:00:00Z\n"+
		"o3,Won,2025-01-01 10:00:00.5-0130\n"+
		"o4,Won,2025-01-01 10:00\n"+
		"o5,Won,2025-01-01\n"+
		"o6,Won,2025-01-01T10:00:00+02\n")
	mustRun(t, f.runner(nil, oppSpec), "opps")
	got := f.str("SELECT string_agg(opportunity_id || '=' || strftime(created_at, '%Y-%m-%d %H:%M:%S'), ',' ORDER BY opportunity_id) FROM opportunities")
	want := "o1=2025-01-01 08:00:00,o2=2025-01-01 10:00:00,o3=2025-01-01 11:30:00,o4=2025-01-01 10:00:00,o5=2025-01-01 00:00:00,o6=2025-01-01 08:00:00"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRunAllRefreshesOnceAndRepairsAnInterruptedBatch(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	f.write("accounts.csv", "account_id,name\na1,Acme\n")
	accounts := source.Spec{Name: "accounts", Format: "csv", Glob: "accounts.csv", Target: "accounts"}
	refreshes, fail := 0, true
	r := f.runner(func(ctx context.Context, tx *sql.Tx) error {
		refreshes++
		if fail {
			return errors.New("refresh crashed")
		}
		return nil
	}, oppSpec, accounts)
	// The refresh at the end of the batch fails: both jobs' rows stay committed, the version is
	// not bumped, and the refresh stays pending.
	if _, err := r.RunAll(context.Background()); err == nil || !strings.Contains(err.Error(), "refresh crashed") {
		t.Fatalf("err %v", err)
	}
	if n := f.count("SELECT count(*) FROM opportunities") + f.count("SELECT count(*) FROM accounts"); n != 2 {
		t.Fatalf("rows %d, want 2", n)
	}
	if v := f.count("SELECT version FROM data_version"); v != 0 || f.str("SELECT refresh_pending::VARCHAR FROM data_version") != "true" {
		t.Fatalf("version %d, pending %s", v, f.str("SELECT refresh_pending::VARCHAR FROM data_version"))
	}
	// The next start repairs it: one refresh, one version bump.
	fail = false
	refreshes = 0
	var committed []int64
	r.opts.OnCommit = func(v int64) { committed = append(committed, v) }
	if err := r.RefreshIfPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if refreshes != 1 || len(committed) != 1 || committed[0] != 1 || f.str("SELECT refresh_pending::VARCHAR FROM data_version") != "false" {
		t.Fatalf("refreshes %d, commits %v", refreshes, committed)
	}
	// A batch with changes in both jobs refreshes once.
	f.write("opps/a.csv", "id,stage\no1,Lost\n")
	f.write("accounts.csv", "account_id,name\na1,Acme Corp\n")
	refreshes = 0
	if _, err := r.RunAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if refreshes != 1 || f.count("SELECT version FROM data_version") != 2 {
		t.Errorf("refreshes %d, version %d; want 1 and 2", refreshes, f.count("SELECT version FROM data_version"))
	}
	// Nothing changed: no refresh at all.
	refreshes = 0
	r.RunAll(context.Background())
	if refreshes != 0 {
		t.Errorf("no-op batch refreshed %d times", refreshes)
	}
}

func TestInMemoryDataVersionFollowsCommits(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	r := f.runner(nil, oppSpec)
	if f.db.Version() != 0 {
		t.Fatalf("version at open %d", f.db.Version())
	}
	mustRun(t, r, "opps")
	if f.db.Version() != 1 {
		t.Errorf("after a run: %d, want 1", f.db.Version())
	}
	f.write("opps/a.csv", "id,stage\no1,Lost\n")
	r.RunAll(context.Background())
	if f.db.Version() != 2 || f.count("SELECT version FROM data_version") != 2 {
		t.Errorf("after a batch: %d, want 2", f.db.Version())
	}
}
