package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// eventIdentity is an event's identity when the source maps no event_id: the md5 of its
// canonical fields, so the same event arriving from two files is one event. The fields are
// joined by the unit separator (U+001F); a missing value is empty (values are never "", which
// the ETL stores as NULL). (Twice as fast as hashing a JSON list of the fields.)
const eventIdentity = `md5(concat(case_id, chr(31), activity, chr(31), occurred_at::VARCHAR, chr(31), actor_id, chr(31),
	actor_role, chr(31), outcome, chr(31), template_used::VARCHAR))`

// identifyEvents gives the events loaded before event identities (migration 009) theirs.
// Derived events have none: they are rebuilt whole.
func identifyEvents(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, "UPDATE stage_events SET event_id = "+eventIdentity+" WHERE event_id IS NULL AND source <> 'derived'"); err != nil {
		return fmt.Errorf("identify events: %w", err)
	}
	return nil
}

// retract removes the rows a file loaded (on_missing: retract), recording their cases for the
// incremental refresh.
func retract(ctx context.Context, tx *sql.Tx, target schema.Target, name string) error {
	track, err := tracking(ctx, tx, target, 0)
	if err != nil {
		return err
	}
	if track {
		if err := touch(ctx, tx, target, "SELECT * FROM "+target.Table+" WHERE _file = $1", name); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+target.Table+" WHERE _file = $1", name); err != nil {
		return fmt.Errorf("retract the rows of %s: %w", name, err)
	}
	return nil
}

// fileGone applies the job's on_missing rule to a file deleted since the last run and returns
// its new manifest state: gone (its rows stay) or retracted (its rows removed, and its sha256
// cleared so that the file reloads if it comes back).
func fileGone(ctx context.Context, tx *sql.Tx, spec *source.Spec, target schema.Target, runID int64, e manifestEntry) (string, error) {
	q := "UPDATE etl_files SET state = $3, run_id = $4, loaded_at = now() WHERE job = $1 AND path = $2"
	state := stateGone
	if spec.OnMissing == source.Retract {
		if err := retract(ctx, tx, target, e.name); err != nil {
			return "", err
		}
		q = "UPDATE etl_files SET state = $3, run_id = $4, loaded_at = now(), sha256 = '', rows = 0 WHERE job = $1 AND path = $2"
		state = stateRetracted
	}
	if _, err := tx.ExecContext(ctx, q, spec.Name, e.name, state, runID); err != nil {
		return "", fmt.Errorf("record gone file %s: %w", e.name, err)
	}
	return state, nil
}

// renameFile moves a file's rows and manifest entry to the new name its content was found under.
func renameFile(ctx context.Context, tx *sql.Tx, job string, runID int64, target schema.Target, rn rename) error {
	if _, err := tx.ExecContext(ctx, "UPDATE "+target.Table+" SET _file = $2 WHERE _file = $1", rn.from.name, rn.to.name); err != nil {
		return fmt.Errorf("rename %s to %s: %w", rn.from.name, rn.to.name, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM etl_files WHERE job = $1 AND path = $2", job, rn.from.name); err != nil {
		return fmt.Errorf("rename %s to %s: %w", rn.from.name, rn.to.name, err)
	}
	f := rn.to
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO etl_files (job, path, size, sha256, rows, run_id, loaded_at, state)
		VALUES ($1, $2, $3, $4, $5, $6, now(), $7)`, job, f.name, f.size, f.sha256, rn.from.rows, runID, statePresent); err != nil {
		return fmt.Errorf("rename %s to %s: %w", rn.from.name, rn.to.name, err)
	}
	return nil
}

// fullRefreshShare: a file whose loaded rows exceed this share of its table's rows asks for a
// full refresh of the derived tables rather than recording the cases it touches.
const fullRefreshShare = 0.2

// tracking reports whether merging a file of loaded rows into target records the cases it
// touches for the incremental refresh: not when no derived table reads the table, when a full
// refresh is due anyway, or when the file is large against the table (a first load, say), which
// makes the refresh full instead.
func tracking(ctx context.Context, tx *sql.Tx, target schema.Target, loaded int64) (bool, error) {
	if target.Cases == "" {
		return false, nil
	}
	var full bool
	var rows int64
	if err := tx.QueryRowContext(ctx, "SELECT refresh_full, (SELECT count(*) FROM "+target.Table+") FROM data_version WHERE id = 1").
		Scan(&full, &rows); err != nil {
		return false, fmt.Errorf("refresh mode: %w", err)
	}
	if full {
		return false, nil
	}
	if float64(loaded) > fullRefreshShare*float64(rows) {
		return false, schema.AskFullRefresh(ctx, tx)
	}
	return true, nil
}

// touch records in refresh_cases the cases of the target rows that rows selects, for the
// incremental refresh (schema.Target.Cases).
func touch(ctx context.Context, tx *sql.Tx, target schema.Target, rows string, args ...any) error {
	q := "INSERT INTO refresh_cases " + strings.Replace(target.Cases, "{rows}", "("+rows+")", 1)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("record the cases touched in %s: %w", target.Table, err)
	}
	return nil
}

// quarantineRejected records the rows the reader refused.
func quarantineRejected(ctx context.Context, tx *sql.Tx, job string, runID int64, path string, rows []rejectedRow) error {
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (run_id, job, file, line, reason, raw, quarantined_at)
			VALUES ($1, $2, $3, $4, $5, $6, now())`, runID, job, path, r.line, r.reason, r.raw); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	return nil
}

// recordFile upserts the manifest entry of a committed file.
func recordFile(ctx context.Context, tx *sql.Tx, job string, runID int64, f fileInfo, rows int64, state string) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO etl_files (job, path, size, sha256, rows, run_id, loaded_at, state)
		VALUES ($1, $2, $3, $4, $5, $6, now(), $7)`, job, f.name, f.size, f.sha256, rows, runID, state)
	if err != nil {
		return fmt.Errorf("record file: %w", err)
	}
	return nil
}

func prefixed(prefix string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = prefix + c
	}
	return strings.Join(out, ", ")
}
