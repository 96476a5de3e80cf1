package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ltc-analytics/ltc/schema"
)

// merge replaces, inside tx, exactly the rows the file contributed before with the rows of cls
// classed load, records the quarantine and the file in the manifest, and returns the counts.
func merge(ctx context.Context, tx *sql.Tx, job string, runID int64, target schema.Target, f fileInfo, format string) (counts, error) {
	var c counts
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FILTER (_class = 'load'), count(*) FILTER (_class = 'quarantine'),
		count(*) FILTER (_class = 'duplicate') FROM cls`).Scan(&c.loaded, &c.quarantined, &c.duplicate); err != nil {
		return c, fmt.Errorf("count classes: %w", err)
	}
	table := target.Table
	track, err := tracking(ctx, tx, target, c.loaded)
	if err != nil {
		return c, err
	}
	if f.loaded { // a new file has no previous rows: no scan of the table for them
		if track {
			if err := touch(ctx, tx, target, "SELECT * FROM "+table+" WHERE _file = $1", f.path); err != nil {
				return c, err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE _file = $1", f.path); err != nil {
			return c, fmt.Errorf("delete previous rows of %s: %w", f.path, err)
		}
	}
	cols := make([]string, len(target.Fields))
	for i, fl := range target.Fields {
		cols[i] = ident(fl.Name)
	}
	if len(target.Key) > 0 {
		// A key now in this file moves here from whichever file held it before.
		conds := make([]string, len(target.Key))
		for i, k := range target.Key {
			conds[i] = table + "." + ident(k) + " = cls." + ident(k)
		}
		on := strings.Join(conds, " AND ")
		if track {
			if err := touch(ctx, tx, target, "SELECT "+table+".* FROM "+table+" JOIN cls ON cls._class = 'load' AND "+on); err != nil {
				return c, err
			}
		}
		q := "DELETE FROM " + table + " USING cls WHERE cls._class = 'load' AND " + on
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return c, fmt.Errorf("delete replaced keys: %w", err)
		}
	}
	q, args := "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+", _file) SELECT "+strings.Join(cols, ", ")+
		", $1 FROM cls WHERE _class = 'load'", []any{f.path}
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
		WHERE cls._class = 'quarantine' ORDER BY cls._line`, runID, job, f.path); err != nil {
		return c, fmt.Errorf("quarantine: %w", err)
	}
	return c, nil
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
func recordFile(ctx context.Context, tx *sql.Tx, job string, runID int64, f fileInfo, rows int64) error {
	_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO etl_files (job, path, size, sha256, rows, run_id, loaded_at)
		VALUES ($1, $2, $3, $4, $5, $6, now())`, job, f.path, f.size, f.sha256, rows, runID)
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
