package schema

import (
	"context"
	"errors"
	"testing"
	"time"
)

// openBookkeeping opens an in-memory warehouse with five runs of two jobs and quarantined rows.
func openBookkeeping(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, "", Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range []string{
		`INSERT INTO etl_runs (run_id, job, started_at, finished_at, status, files, rows_read, rows_loaded,
			rows_quarantined, rows_duplicate, duration_ms, error) VALUES
			(1, 'crm', '2026-01-01 00:00:00', '2026-01-01 00:01:00', 'success', 1, 10, 8, 2, 0, 60000, NULL),
			(2, 'erp', '2026-01-01 01:00:00', '2026-01-01 01:00:30', 'failed', 1, 0, 0, 0, 0, 30000, 'boom'),
			(3, 'crm', '2026-01-02 00:00:00', '2026-01-02 00:00:05', 'noop', 0, 0, 0, 0, 0, 5000, NULL),
			(4, 'erp', '2026-01-02 01:00:00', '2026-01-02 01:02:00', 'success', 2, 5, 4, 1, 0, 120000, NULL),
			(5, 'crm', '2026-01-03 00:00:00', NULL, 'running', 0, 0, 0, 0, 0, NULL, NULL)`,
		`INSERT INTO quarantine VALUES
			(1, 'crm', 'leads.csv', 3, 'bad date', 'x,y', '2026-01-01 00:00:30'),
			(1, 'crm', 'leads.csv', 7, 'missing id', NULL, '2026-01-01 00:00:31'),
			(4, 'erp', 'invoices.jsonl', NULL, 'negative amount', '{}', '2026-01-02 01:01:00')`,
		`UPDATE data_version SET version = 7, updated_at = '2026-01-02 01:02:00'`,
	} {
		if _, err := db.Write.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func TestListRunsPaginates(t *testing.T) {
	ctx := context.Background()
	db := openBookkeeping(t)
	var got []int64
	after := ""
	for pages := 0; ; pages++ {
		page, err := ListRuns(ctx, db.Read, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalCount != 5 {
			t.Errorf("TotalCount = %d, want 5", page.TotalCount)
		}
		for _, e := range page.Edges {
			got = append(got, e.Run.RunID)
		}
		if !page.HasNextPage {
			if pages != 2 {
				t.Errorf("pages = %d, want 3", pages+1)
			}
			break
		}
		after = page.EndCursor
	}
	want := []int64{5, 4, 3, 2, 1}
	if len(got) != len(want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("runs %v, want %v", got, want)
		}
	}
}

func TestListRunsFields(t *testing.T) {
	ctx := context.Background()
	db := openBookkeeping(t)
	page, err := ListRuns(ctx, db.Read, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	running, failed := page.Edges[0].Run, page.Edges[3].Run
	if running.FinishedAt != nil || running.DurationMS != nil || running.Status != "running" {
		t.Errorf("running run = %+v", running)
	}
	if failed.Error != "boom" || *failed.DurationMS != 30000 || !failed.FinishedAt.Equal(time.Date(2026, 1, 1, 1, 0, 30, 0, time.UTC)) {
		t.Errorf("failed run = %+v", failed)
	}
	empty, err := ListRuns(ctx, db.Read, 0, "")
	if err != nil || len(empty.Edges) != 0 || !empty.HasNextPage || empty.EndCursor != "" {
		t.Errorf("first 0: %+v, %v", empty, err)
	}
}

func TestListBadArguments(t *testing.T) {
	ctx := context.Background()
	db := openBookkeeping(t)
	qCursor := encodeCursor("q", 1, 1)
	for _, tc := range []struct {
		name  string
		first int
		after string
		want  error
	}{
		{"negative", -1, "", ErrBadPageSize},
		{"too large", MaxPageSize + 1, "", ErrBadPageSize},
		{"garbage", 1, "garbage!", ErrBadCursor},
		{"not base64 of ours", 1, "Z2FyYmFnZQ", ErrBadCursor},
		{"other listing", 1, qCursor, ErrBadCursor},
	} {
		if _, err := ListRuns(ctx, db.Read, tc.first, tc.after); !errors.Is(err, tc.want) {
			t.Errorf("ListRuns %s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ListQuarantine(ctx, db.Read, 1, encodeCursor("r", 1), ""); !errors.Is(err, ErrBadCursor) {
		t.Errorf("ListQuarantine with run cursor: %v", err)
	}
}

func TestListQuarantine(t *testing.T) {
	ctx := context.Background()
	db := openBookkeeping(t)
	page, err := ListQuarantine(ctx, db.Read, 2, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 3 || len(page.Edges) != 2 || !page.HasNextPage {
		t.Fatalf("page 1 = %+v", page)
	}
	if r := page.Edges[0].Row; r.RunID != 4 || r.Line != nil || r.Reason != "negative amount" {
		t.Errorf("first row = %+v", r)
	}
	if r := page.Edges[1].Row; r.RunID != 1 || *r.Line != 3 {
		t.Errorf("second row = %+v", r)
	}
	page2, err := ListQuarantine(ctx, db.Read, 2, page.EndCursor, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page2.Edges) != 1 || page2.HasNextPage || *page2.Edges[0].Row.Line != 7 || page2.Edges[0].Row.Raw != "" {
		t.Errorf("page 2 = %+v", page2)
	}
	crm, err := ListQuarantine(ctx, db.Read, 10, "", "crm")
	if err != nil {
		t.Fatal(err)
	}
	if crm.TotalCount != 2 || len(crm.Edges) != 2 || crm.HasNextPage {
		t.Errorf("crm = %+v", crm)
	}
	for _, e := range crm.Edges {
		if e.Row.Job != "crm" {
			t.Errorf("job filter leaked %+v", e.Row)
		}
	}
}

func TestReadFreshness(t *testing.T) {
	ctx := context.Background()
	db := openBookkeeping(t)
	f, err := ReadFreshness(ctx, db.Read)
	if err != nil {
		t.Fatal(err)
	}
	if f.DataVersion != 7 || !f.UpdatedAt.Equal(time.Date(2026, 1, 2, 1, 2, 0, 0, time.UTC)) {
		t.Errorf("version %d at %v", f.DataVersion, f.UpdatedAt)
	}
	if len(f.Jobs) != 2 || f.Jobs[0].Job != "crm" || f.Jobs[1].Job != "erp" {
		t.Fatalf("jobs = %+v", f.Jobs)
	}
	crm, erp := f.Jobs[0], f.Jobs[1]
	// crm: the noop run on Jan 2 counts as success; the running run on Jan 3 is the latest run.
	if !crm.LastSuccessAt.Equal(time.Date(2026, 1, 2, 0, 0, 5, 0, time.UTC)) || crm.LastStatus != "running" ||
		!crm.LastRunAt.Equal(time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("crm = %+v", crm)
	}
	if !erp.LastSuccessAt.Equal(time.Date(2026, 1, 2, 1, 2, 0, 0, time.UTC)) || erp.LastStatus != "success" {
		t.Errorf("erp = %+v", erp)
	}
	if !f.LastSuccessAt.Equal(*erp.LastSuccessAt) {
		t.Errorf("overall = %v, want %v", f.LastSuccessAt, erp.LastSuccessAt)
	}
}

func TestReadFreshnessEmpty(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f, err := ReadFreshness(ctx, db.Read)
	if err != nil || len(f.Jobs) != 0 || f.LastSuccessAt != nil || f.DataVersion != 0 {
		t.Errorf("empty = %+v, %v", f, err)
	}
}
