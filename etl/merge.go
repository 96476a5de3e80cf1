package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// merge replaces, inside tx, exactly the rows the file contributed before with the rows of cls
// classed load, records the quarantine, and returns the counts. A row whose key another file
// already holds is a duplicate when its values are the same (it stays with that file), and
// replaces that file's row when they differ: the later file wins, counted as a conflict.
// For stage_events the key is the event's identity (event_id).
func merge(ctx context.Context, tx *sql.Tx, job string, runID int64, target schema.Target, f fileInfo, format string) (counts, error) {
	var c counts
	table := target.Table
	if f.loaded { // a new file has no previous rows: no scan of the table for them
		var loaded int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FILTER (_class = 'load') FROM cls").Scan(&loaded); err != nil {
			return c, fmt.Errorf("count classes: %w", err)
		}
		track, err := tracking(ctx, tx, target, loaded)
		if err != nil {
			return c, err
		}
		if track {
			if err := touch(ctx, tx, target, "SELECT * FROM "+table+" WHERE _file = $1", f.name); err != nil {
				return c, err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE _file = $1", f.name); err != nil {
			return c, fmt.Errorf("delete previous rows of %s: %w", f.name, err)
		}
	}
	cols := make([]string, len(target.Fields))
	same := make([]string, len(target.Fields))
	for i, fl := range target.Fields {
		cols[i] = ident(fl.Name)
		same[i] = "t." + cols[i] + " IS NOT DISTINCT FROM cls." + cols[i]
	}
	conds := make([]string, len(target.Key))
	for i, k := range target.Key {
		conds[i] = table + "." + ident(k) + " = cls." + ident(k)
	}
	on := strings.Join(conds, " AND ")
	// Rows another file already holds with the same values are duplicates; with other values
	// they are conflicts. One join finds both (the file's own previous rows are gone already);
	// an empty table needs none.
	var held int64
	var nonEmpty bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+")").Scan(&nonEmpty); err != nil {
		return c, fmt.Errorf("find rows other files hold: %w", err)
	}
	if nonEmpty {
		if err := tx.QueryRowContext(ctx, "CREATE OR REPLACE TEMP TABLE cls_held AS SELECT cls._line, bool_or("+strings.Join(same, " AND ")+
			") AS _same FROM cls JOIN "+table+" t ON "+strings.ReplaceAll(on, table+".", "t.")+" WHERE cls._class = 'load' GROUP BY cls._line").Scan(&held); err != nil {
			return c, fmt.Errorf("find rows other files hold: %w", err)
		}
	}
	if held > 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE cls SET _class = 'duplicate' FROM cls_held h WHERE h._line = cls._line AND h._same"); err != nil {
			return c, fmt.Errorf("mark duplicates: %w", err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FILTER (NOT _same) FROM cls_held").Scan(&c.conflict); err != nil {
			return c, fmt.Errorf("count conflicts: %w", err)
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (_class = 'load'), count(*) FILTER (_class = 'quarantine'),
		count(*) FILTER (_class = 'duplicate') FROM cls`).Scan(&c.loaded, &c.quarantined, &c.duplicate); err != nil {
		return c, fmt.Errorf("count classes: %w", err)
	}
	track, err := tracking(ctx, tx, target, c.loaded)
	if err != nil {
		return c, err
	}
	// A key now in this file with other values moves here from whichever file held it before
	// (the later file wins).
	if c.conflict > 0 {
		if track {
			if err := touch(ctx, tx, target, "SELECT "+table+".* FROM "+table+" JOIN cls ON cls._class = 'load' AND "+on); err != nil {
				return c, err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" USING cls WHERE cls._class = 'load' AND "+on); err != nil {
			return c, fmt.Errorf("delete replaced keys: %w", err)
		}
	}
	q, args := "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+", _file) SELECT "+strings.Join(cols, ", ")+
		", $1 FROM cls WHERE _class = 'load'", []any{f.name}
	if table == "stage_events" {
		// The event log: stage from the process model (NULL = personal tier), seq = source line.
		q = "INSERT INTO stage_events (" + strings.Join(cols, ", ") + ", stage, source, seq, _file) SELECT " +
			prefixed("cls.", cols) + ", m.stage, $2, cls._line, $1 FROM cls LEFT JOIN activity_map m ON m.activity = cls.activity WHERE cls._class = 'load'"
		args = append(args, job)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return c, fmt.Errorf("insert into %s: %w", table, err)
	}
	if track {
		if err := touch(ctx, tx, target, "SELECT * FROM cls WHERE _class = 'load'"); err != nil {
			return c, err
		}
	}
	if c.quarantined == 0 {
		return c, nil // no join against staging for nothing
	}
	// The raw record of a quarantined row comes from staging: the JSON line itself, or the
	// row's source columns as JSON.
	raw := "to_json(s)::VARCHAR"
	if format == "jsonl" {
		raw = "s._raw"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (run_id, job, file, line, reason, raw, quarantined_at)
		SELECT $1, $2, $3, cls._line, cls._reason, `+raw+`, now() FROM cls JOIN stg s USING (_line)
		WHERE cls._class = 'quarantine' ORDER BY cls._line`, runID, job, f.name); err != nil {
		return c, fmt.Errorf("quarantine: %w", err)
	}
	return c, nil
}

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
