package schema

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxPageSize is the largest page ListRuns and ListQuarantine return.
const MaxPageSize = 1000

// Sentinel errors of the bookkeeping reads; the API maps them to BAD_ARGUMENT.
var (
	// ErrBadCursor means an "after" cursor was not one this package issued.
	ErrBadCursor = errors.New("malformed cursor")
	// ErrBadPageSize means a page size was negative or above MaxPageSize.
	ErrBadPageSize = errors.New("page size out of range")
)

// Querier is what the bookkeeping reads need: *sql.DB (normally DB.Read), *sql.Conn or *sql.Tx.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Run is one row of etl_runs.
type Run struct {
	RunID                                                int64
	Job                                                  string
	Status                                               string
	StartedAt                                            time.Time
	FinishedAt                                           *time.Time // nil while running
	Files                                                int
	RowsRead, RowsLoaded, RowsQuarantined, RowsDuplicate int64
	// RowsConflict counts the loaded rows that replaced another file's row of the same key with
	// other values (a part of RowsLoaded).
	RowsConflict int64
	DurationMS   *int64 // nil while running
	Error        string // "" when the run did not fail
}

// RunEdge is a run with the cursor that resumes a listing after it.
type RunEdge struct {
	Cursor string
	Run    Run
}

// RunPage is one page of ETL runs, newest first.
type RunPage struct {
	Edges       []RunEdge
	HasNextPage bool
	// EndCursor is the cursor of the last edge ("" when the page is empty).
	EndCursor string
	// TotalCount is the number of runs in the whole listing, not just this page.
	TotalCount int
}

// QuarantinedRow is one row of quarantine: a source row that was not loaded, and why.
type QuarantinedRow struct {
	RunID         int64
	Job           string
	File          string
	Line          *int64 // nil when the source has no line numbers
	Reason        string
	Raw           string
	QuarantinedAt time.Time
}

// QuarantineEdge is a quarantined row with the cursor that resumes a listing after it.
type QuarantineEdge struct {
	Cursor string
	Row    QuarantinedRow
}

// QuarantinePage is one page of quarantined rows, newest run first, in load order within a run.
type QuarantinePage struct {
	Edges       []QuarantineEdge
	HasNextPage bool
	EndCursor   string
	TotalCount  int
}

// JobFreshness is how recent one ETL job's data is.
type JobFreshness struct {
	Job string
	// LastSuccessAt is when the job last finished with status success or noop (nil if never).
	LastSuccessAt *time.Time
	// LastRunAt is when the job's latest run started; LastStatus is that run's status.
	LastRunAt  time.Time
	LastStatus string
}

// Freshness is how recent the warehouse's data is.
type Freshness struct {
	// Jobs is one entry per job that has ever run, ordered by job name.
	Jobs []JobFreshness
	// LastSuccessAt is the latest LastSuccessAt over all jobs (nil if no job ever succeeded).
	LastSuccessAt *time.Time
	// DataVersion is bumped by every ETL commit; UpdatedAt is when it last was.
	DataVersion int64
	UpdatedAt   time.Time
}

// ListRuns returns up to first ETL runs, newest first, after the run named by the opaque cursor after
// ("" starts at the newest).
func ListRuns(ctx context.Context, q Querier, first int, after string) (page RunPage, err error) {
	defer wrapBookkeeping(&err, "schema.ListRuns(%d, %q)", first, after)
	if err := checkPageSize(first); err != nil {
		return RunPage{}, err
	}
	where, args := "", []any{}
	if after != "" {
		ids, err := decodeCursor(after, "r", 1)
		if err != nil {
			return RunPage{}, err
		}
		where, args = "WHERE run_id < ?", append(args, ids[0])
	}
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM etl_runs").Scan(&page.TotalCount); err != nil {
		return RunPage{}, err
	}
	rows, err := q.QueryContext(ctx, `SELECT run_id, job, status, started_at, finished_at, files, rows_read,
		rows_loaded, rows_quarantined, rows_duplicate, coalesce(rows_conflict, 0), duration_ms, coalesce(error, '')
		FROM etl_runs `+where+` ORDER BY run_id DESC LIMIT ?`, append(args, first+1)...)
	if err != nil {
		return RunPage{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var r Run
		var finished sql.NullTime
		var dur sql.NullInt64
		if err := rows.Scan(&r.RunID, &r.Job, &r.Status, &r.StartedAt, &finished, &r.Files, &r.RowsRead,
			&r.RowsLoaded, &r.RowsQuarantined, &r.RowsDuplicate, &r.RowsConflict, &dur, &r.Error); err != nil {
			return RunPage{}, err
		}
		if finished.Valid {
			t := finished.Time.UTC()
			r.FinishedAt = &t
		}
		if dur.Valid {
			r.DurationMS = &dur.Int64
		}
		r.StartedAt = r.StartedAt.UTC()
		page.Edges = append(page.Edges, RunEdge{Cursor: encodeCursor("r", r.RunID), Run: r})
	}
	if err := rows.Err(); err != nil {
		return RunPage{}, err
	}
	if len(page.Edges) > first {
		page.Edges, page.HasNextPage = page.Edges[:first], true
	}
	if n := len(page.Edges); n > 0 {
		page.EndCursor = page.Edges[n-1].Cursor
	}
	return page, nil
}

// ListQuarantine returns up to first quarantined rows, newest run first and in load order within a
// run, after the row named by the opaque cursor after ("" starts at the newest). A non-empty job keeps
// only that job's rows. Cursors rely on DuckDB row ids, which are stable while rows are not deleted.
func ListQuarantine(ctx context.Context, q Querier, first int, after, job string) (page QuarantinePage, err error) {
	defer wrapBookkeeping(&err, "schema.ListQuarantine(%d, %q, %q)", first, after, job)
	if err := checkPageSize(first); err != nil {
		return QuarantinePage{}, err
	}
	var conds []string
	var args []any
	if job != "" {
		conds, args = append(conds, "job = ?"), append(args, job)
	}
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM quarantine"+whereClause(conds), args...).
		Scan(&page.TotalCount); err != nil {
		return QuarantinePage{}, err
	}
	if after != "" {
		ids, err := decodeCursor(after, "q", 2)
		if err != nil {
			return QuarantinePage{}, err
		}
		conds = append(conds, "(run_id < ? OR (run_id = ? AND rowid > ?))")
		args = append(args, ids[0], ids[0], ids[1])
	}
	rows, err := q.QueryContext(ctx, `SELECT rowid, run_id, job, file, line, reason, coalesce(raw, ''), quarantined_at
		FROM quarantine`+whereClause(conds)+` ORDER BY run_id DESC, rowid ASC LIMIT ?`, append(args, first+1)...)
	if err != nil {
		return QuarantinePage{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var rowid int64
		var r QuarantinedRow
		var line sql.NullInt64
		if err := rows.Scan(&rowid, &r.RunID, &r.Job, &r.File, &line, &r.Reason, &r.Raw, &r.QuarantinedAt); err != nil {
			return QuarantinePage{}, err
		}
		if line.Valid {
			r.Line = &line.Int64
		}
		r.QuarantinedAt = r.QuarantinedAt.UTC()
		page.Edges = append(page.Edges, QuarantineEdge{Cursor: encodeCursor("q", r.RunID, rowid), Row: r})
	}
	if err := rows.Err(); err != nil {
		return QuarantinePage{}, err
	}
	if len(page.Edges) > first {
		page.Edges, page.HasNextPage = page.Edges[:first], true
	}
	if n := len(page.Edges); n > 0 {
		page.EndCursor = page.Edges[n-1].Cursor
	}
	return page, nil
}

// ReadFreshness reports, per job and overall, when ETL last succeeded (a noop run counts: the job ran and
// found nothing new), and the current data version.
func ReadFreshness(ctx context.Context, q Querier) (f Freshness, err error) {
	defer wrapBookkeeping(&err, "schema.ReadFreshness")
	if err := q.QueryRowContext(ctx, "SELECT version, updated_at FROM data_version WHERE id = 1").
		Scan(&f.DataVersion, &f.UpdatedAt); err != nil {
		return Freshness{}, err
	}
	f.UpdatedAt = f.UpdatedAt.UTC()
	rows, err := q.QueryContext(ctx, `SELECT job,
			max(finished_at) FILTER (WHERE status IN ('success', 'noop')),
			max(started_at),
			arg_max(status, run_id)
		FROM etl_runs GROUP BY job ORDER BY job`)
	if err != nil {
		return Freshness{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var j JobFreshness
		var last sql.NullTime
		if err := rows.Scan(&j.Job, &last, &j.LastRunAt, &j.LastStatus); err != nil {
			return Freshness{}, err
		}
		j.LastRunAt = j.LastRunAt.UTC()
		if last.Valid {
			t := last.Time.UTC()
			j.LastSuccessAt = &t
			if f.LastSuccessAt == nil || t.After(*f.LastSuccessAt) {
				f.LastSuccessAt = &t
			}
		}
		f.Jobs = append(f.Jobs, j)
	}
	return f, rows.Err()
}

func checkPageSize(first int) error {
	if first < 0 || first > MaxPageSize {
		return fmt.Errorf("%w: first = %d, want 0..%d", ErrBadPageSize, first, MaxPageSize)
	}
	return nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// encodeCursor makes an opaque cursor from a kind tag and integer keys.
func encodeCursor(kind string, keys ...int64) string {
	parts := []string{kind}
	for _, k := range keys {
		parts = append(parts, strconv.FormatInt(k, 10))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ":")))
}

// decodeCursor parses a cursor made by encodeCursor(kind, n keys).
func decodeCursor(cursor, kind string, n int) ([]int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("%w %q", ErrBadCursor, cursor)
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != n+1 || parts[0] != kind {
		return nil, fmt.Errorf("%w %q", ErrBadCursor, cursor)
	}
	keys := make([]int64, n)
	for i, p := range parts[1:] {
		if keys[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return nil, fmt.Errorf("%w %q", ErrBadCursor, cursor)
		}
	}
	return keys, nil
}

// wrapBookkeeping annotates a non-nil *errp with the operation, once per layer.
func wrapBookkeeping(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// AskFullRefresh marks, inside tx, that the next refresh of the derived tables must rebuild them
// whole (migration 008): for changes whose cases nobody recorded in refresh_cases.
func AskFullRefresh(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "UPDATE data_version SET refresh_full = true WHERE id = 1"); err != nil {
		return fmt.Errorf("schema.AskFullRefresh: %w", err)
	}
	return nil
}
