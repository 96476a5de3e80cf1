package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// A database source (PostgreSQL) is one manifest entry, named postgres:<job>/<table> (or postgres:<job>/query):
// the _file of the rows it loaded and the file of its quarantined rows, whose line is NULL and
// whose reason starts with the row's key. Without a cursor every run reads every row and replaces
// the source's rows (a run that reads exactly the rows of the last one is a no-op). With a cursor
// a run reads the rows above the high-water mark kept in the manifest and upserts them by key (a
// changed row replaces its earlier version, counted as an update); rows deleted at the source are
// dropped by a full read, done when the last one is older than full_compare_every.

// dbEntry is the manifest entry of a database source.
type dbEntry struct {
	loaded         bool
	cursor, sha256 string
	fullAt         time.Time
}

// dbSourceName is the name a database source's rows are known by: format, job and table (two
// jobs may read one table, through different queries say, and each replaces only its own rows).
func dbSourceName(spec *source.Spec) string {
	what := spec.Table
	if what == "" {
		what = "query"
	}
	return spec.Format + ":" + spec.Name + "/" + what
}

// readDBEntry returns the manifest entry of a database source (loaded false when there is none).
func readDBEntry(ctx context.Context, conn *sql.Conn, job, name string) (dbEntry, error) {
	var e dbEntry
	var cursor sql.NullString
	var fullAt sql.NullTime
	err := conn.QueryRowContext(ctx, "SELECT cursor, sha256, full_at FROM etl_files WHERE job = $1 AND path = $2", job, name).
		Scan(&cursor, &e.sha256, &fullAt)
	if errors.Is(err, sql.ErrNoRows) {
		return e, nil
	}
	if err != nil {
		return e, fmt.Errorf("read manifest: %w", err)
	}
	e.loaded, e.cursor, e.fullAt = true, cursor.String, fullAt.Time
	return e, nil
}

// runDatabase does the work of run for a database source and fills res. The source is read
// before the warehouse transaction begins, so a source that cannot be reached (or fails mid-read)
// fails the run with nothing changed.
func (r *Runner) runDatabase(ctx context.Context, conn *sql.Conn, spec *source.Spec, res *RunResult, batch bool) error {
	name := dbSourceName(spec)
	prev, err := readDBEntry(ctx, conn, spec.Name, name)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	full := spec.Cursor == "" || !prev.loaded || prev.cursor == "" || now.Sub(prev.fullAt) >= spec.FullCompare()
	start := time.Now()
	read, err := readPostgres(ctx, conn, spec, prev.cursor, full)
	if err != nil {
		return err
	}
	fp := ""
	if full {
		if fp, err = stagedFingerprint(ctx, conn); err != nil {
			return err
		}
	}
	// Nothing new: no row above the cursor, or a full read of exactly the rows of the last one.
	if prev.loaded && ((!full && read.st.rows == 0) || (full && fp == prev.sha256)) {
		res.Status = StatusNoop
		res.DataVersion, err = schema.DataVersion(ctx, conn)
		return err
	}
	res.Files = 1
	target := r.targets[spec.Target]
	if err := r.prepareActivityMap(ctx, conn); err != nil {
		return err
	}
	// The rows read are classified and collected as a batch of one file before the transaction
	// begins, as file sources' are (mergeBatch).
	if read.st.rows > 0 {
		if err := startBatch(ctx, conn); err != nil {
			return err
		}
		if err := classify(ctx, conn, spec, target, read.st, r.opts.Resolve, &lookups{tables: map[string]string{}}, 0, true); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := collect(ctx, conn, read.st, 0, spec.Format, true); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if target.Table == "stage_events" {
		if err := identifyEvents(ctx, tx); err != nil {
			return err
		}
	}
	f := fileInfo{name: name, loaded: full && prev.loaded}
	var c counts
	switch {
	case read.st.rows > 0:
		cs, err := mergeBatch(ctx, tx, spec.Name, res.RunID, target, []fileInfo{f}, []bool{true})
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		c = cs[0]
		c.read = read.st.rows
		if err := keyQuarantine(ctx, tx, res.RunID, spec, target); err != nil {
			return err
		}
	case f.loaded:
		// A full read of an emptied table: the source holds no row now.
		if err := retract(ctx, tx, target, name); err != nil {
			return err
		}
	}
	res.RowsRead, res.RowsLoaded, res.RowsQuarantined, res.RowsDuplicate = c.read, c.loaded, c.quarantined, c.duplicate
	if c.read != c.loaded+c.quarantined+c.duplicate {
		return fmt.Errorf("%s: row accounting broken: read %d ≠ loaded %d + quarantined %d + duplicate %d",
			name, c.read, c.loaded, c.quarantined, c.duplicate)
	}
	// Reading above the cursor, a key read again with other values is the row's update, not a
	// conflict (a full read deleted the source's own rows first: its conflicts are other sources').
	var updated int64
	if !full {
		updated, c.conflict = c.conflict, 0
	}
	res.RowsConflict = c.conflict
	if err := r.finishLoad(ctx, tx, res.RunID, 1, c, batch); err != nil {
		return err
	}
	fullAt := sql.NullTime{Time: prev.fullAt, Valid: prev.loaded}
	if full {
		fullAt = sql.NullTime{Time: now, Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO etl_files (job, path, size, sha256, rows, run_id, loaded_at, state, cursor, full_at)
		VALUES ($1, $2, 0, $3, (SELECT count(*) FROM `+target.Table+` WHERE _file = $2), $4, now(), $5, nullif($6, ''), $7)`,
		spec.Name, name, fp, res.RunID, statePresent, read.cursor, fullAt); err != nil {
		return fmt.Errorf("record source: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if r.opts.Progress != nil {
		how := "full read"
		if !full {
			how = fmt.Sprintf("rows with %s above %s", spec.Cursor, prev.cursor)
		}
		fmt.Fprintf(r.opts.Progress, "%s: %s (%s): %d read, %d loaded (%d updated), %d quarantined, %d duplicate (%.2fs)\n",
			spec.Name, name, how, c.read, c.loaded, updated, c.quarantined, c.duplicate, time.Since(start).Seconds())
	}
	res.Status = StatusSuccess
	res.DataVersion, err = schema.DataVersion(ctx, conn)
	return err
}

// stagedFingerprint is an order-independent fingerprint of the staged rows (their values, not
// their numbers): two reads of the same rows have the same one.
func stagedFingerprint(ctx context.Context, conn *sql.Conn) (string, error) {
	var fp string
	if err := conn.QueryRowContext(ctx, `SELECT count(*) || ':' || coalesce(sum(hash(to_json(s)))::VARCHAR, '0')
		FROM (SELECT * EXCLUDE (_line) FROM stg) s`).Scan(&fp); err != nil {
		return "", fmt.Errorf("fingerprint the rows read: %w", err)
	}
	return fp, nil
}

// keyQuarantine rewrites the quarantine rows of a database read (run runID): a row has no line,
// so the line is cleared and the reason starts with the row's key.
func keyQuarantine(ctx context.Context, tx *sql.Tx, runID int64, spec *source.Spec, target schema.Target) error {
	keys := target.Key
	if target.Table == "stage_events" {
		keys = []string{"case_id", "activity", "occurred_at"}
		if _, ok := spec.Columns["event_id"]; ok {
			keys = []string{"event_id"}
		}
	}
	p := &params{}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = p.bind(k+"=") + " || coalesce(cls." + ident(k) + "::VARCHAR, '(missing)')"
	}
	runArg, jobArg := p.bind(runID), p.bind(spec.Name)
	q := "UPDATE quarantine SET line = NULL, reason = 'key ' || " + strings.Join(parts, " || ', ' || ") + " || ': ' || quarantine.reason " +
		"FROM cls_all cls WHERE quarantine.run_id = " + runArg + " AND quarantine.job = " + jobArg + " AND quarantine.line = cls._line"
	if _, err := tx.ExecContext(ctx, q, p.args...); err != nil {
		return fmt.Errorf("quarantine: name the keys: %w", err)
	}
	return nil
}
