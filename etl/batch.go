package etl

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ltc-analytics/ltc/schema"
)

// A job's staged files are merged together: classify writes each file's classified rows into
// the temp table cls_all, tagged with the file's index in the job's list (_fid, so no row carries
// a path), and collect adds its quarantined rows with their raw records to q_all. One merge then
// moves them all into the target: one join against the table, one insert, one quarantine insert
// per job.

// startBatch drops the previous job's batch tables.
func startBatch(ctx context.Context, conn *sql.Conn) error {
	for _, t := range []string{"cls_all", "q_all"} {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return fmt.Errorf("batch tables: %w", err)
		}
	}
	return nil
}

// collect adds the quarantined rows of the files staged in stg (st.fids, or file fid alone),
// classified in cls_all, with their raw records to the job's batch; first creates q_all.
func collect(ctx context.Context, conn *sql.Conn, st *staged, fid int, format string, first bool) error {
	if first {
		if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE q_all (_fid INTEGER, line BIGINT, reason VARCHAR, raw VARCHAR)"); err != nil {
			return fmt.Errorf("batch tables: %w", err)
		}
	}
	fids, stg := []int{fid}, "(SELECT * FROM stg)"
	if st.fids != nil {
		fids, stg = st.fids, "(SELECT * EXCLUDE (_fid) FROM stg WHERE _fid = $1)"
	}
	// The raw record of a quarantined row comes from staging (which may read the file again: a
	// Parquet stg is a view over it), so only for a file with quarantined rows: the JSON line
	// itself, or the row's source columns as JSON.
	rows, err := conn.QueryContext(ctx, "SELECT DISTINCT _fid FROM cls_all WHERE list_contains("+intList(fids)+", _fid) AND _class = 'quarantine' ORDER BY 1")
	if err != nil {
		return fmt.Errorf("collect quarantined rows: %w", err)
	}
	var bad []int
	for rows.Next() {
		var f int
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return fmt.Errorf("collect quarantined rows: %w", err)
		}
		bad = append(bad, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("collect quarantined rows: %w", err)
	}
	raw := "to_json(s)::VARCHAR"
	if format == "jsonl" {
		raw = "s._raw"
	}
	for _, f := range bad {
		if _, err := conn.ExecContext(ctx, `INSERT INTO q_all SELECT $1, c._line, c._reason, `+raw+`
			FROM cls_all c JOIN `+stg+` s USING (_line) WHERE c._fid = $1 AND c._class = 'quarantine' ORDER BY c._line`, f); err != nil {
			return fmt.Errorf("collect quarantined rows: %w", err)
		}
	}
	return nil
}

// mergeBatch merges the job's batch (cls_all, q_all) inside tx and returns each file's counts
// (indexed by _fid). The rows the files contributed before are replaced. A row whose key another
// file already holds — in the table, or an earlier file of the batch — is a duplicate when its
// values are the same (it stays with that file), and replaces that file's row when they differ:
// the later file wins, counted as a conflict. For stage_events the key is event_id.
func mergeBatch(ctx context.Context, tx *sql.Tx, job string, runID int64, target schema.Target, files []fileInfo, present []bool) ([]counts, error) {
	table := target.Table
	names := make([]string, len(files))
	several := 0
	for i, f := range files {
		names[i] = f.name
		if present[i] {
			several++
		}
	}
	var loaded int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FILTER (_class = 'load') FROM cls_all").Scan(&loaded); err != nil {
		return nil, fmt.Errorf("count classes: %w", err)
	}
	track, err := tracking(ctx, tx, target, loaded)
	if err != nil {
		return nil, err
	}
	// A reloaded file's previous rows go first (a new file has none: no scan for them).
	for i, f := range files {
		if !f.loaded || !present[i] {
			continue
		}
		if track {
			if err := touch(ctx, tx, target, "SELECT * FROM "+table+" WHERE _file = $1", f.name); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE _file = $1", f.name); err != nil {
			return nil, fmt.Errorf("delete previous rows of %s: %w", f.name, err)
		}
	}
	cols := make([]string, len(target.Fields))
	same := make([]string, len(target.Fields))
	for i, fl := range target.Fields {
		cols[i] = ident(fl.Name)
		same[i] = "t." + cols[i] + " IS NOT DISTINCT FROM c." + cols[i]
	}
	keys := make([]string, len(target.Key))
	for i, k := range target.Key {
		keys[i] = ident(k)
	}
	on := func(a, b string) string {
		conds := make([]string, len(keys))
		for i, k := range keys {
			conds[i] = a + "." + k + " = " + b + "." + k
		}
		return strings.Join(conds, " AND ")
	}
	// The loaded rows whose key another file holds in the table (one join for the whole batch;
	// an empty table needs none), and the keys repeated across the batch's files.
	var held, repeated int64
	var nonEmpty bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM "+table+")").Scan(&nonEmpty); err != nil {
		return nil, fmt.Errorf("find rows other files hold: %w", err)
	}
	heldQ := "CREATE OR REPLACE TEMP TABLE cls_held AS SELECT c._fid, c._line, " + prefixed("c.", keys) + ", bool_or(" +
		strings.Join(same, " AND ") + ") AS _same FROM cls_all c JOIN " + table + " t ON " + on("t", "c") +
		" WHERE c._class = 'load' GROUP BY ALL"
	if !nonEmpty {
		heldQ += " LIMIT 0"
	}
	if err := tx.QueryRowContext(ctx, heldQ).Scan(&held); err != nil {
		return nil, fmt.Errorf("find rows other files hold: %w", err)
	}
	if several > 1 {
		if err := tx.QueryRowContext(ctx, "CREATE OR REPLACE TEMP TABLE cls_rep AS SELECT "+strings.Join(keys, ", ")+
			" FROM cls_all WHERE _class = 'load' GROUP BY ALL HAVING count(*) > 1").Scan(&repeated); err != nil {
			return nil, fmt.Errorf("find keys in several files: %w", err)
		}
	}
	conflicts := map[int]int64{}
	if held+repeated > 0 {
		if conflicts, err = sequence(ctx, tx, keys, on, repeated > 0); err != nil {
			return nil, err
		}
	}
	if held > 0 {
		// A key the batch loads moves here from whichever file held it (the later file wins).
		if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE cls_moved AS SELECT DISTINCT "+prefixed("h.", keys)+
			" FROM cls_held h JOIN cls_all c ON "+on("c", "h")+" WHERE c._class = 'load'"); err != nil {
			return nil, fmt.Errorf("find replaced keys: %w", err)
		}
		if track {
			if err := touch(ctx, tx, target, "SELECT t.* FROM "+table+" t JOIN cls_moved m ON "+on("t", "m")); err != nil {
				return nil, err
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" USING cls_moved m WHERE "+on(table, "m")); err != nil {
			return nil, fmt.Errorf("delete replaced keys: %w", err)
		}
	}
	q, args := "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+", _file) SELECT "+strings.Join(cols, ", ")+
		", $1[_fid + 1] FROM cls_all WHERE _class = 'load'", []any{names}
	if table == "stage_events" {
		// The event log: stage from the process model (NULL = personal tier), seq = source line.
		q = "INSERT INTO stage_events (" + strings.Join(cols, ", ") + ", stage, source, seq, _file) SELECT " +
			prefixed("c.", cols) + ", m.stage, $2, c._line, $1[c._fid + 1] FROM cls_all c LEFT JOIN activity_map m ON m.activity = c.activity WHERE c._class = 'load'"
		args = append(args, job)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return nil, fmt.Errorf("insert into %s: %w", table, err)
	}
	if track {
		if err := touch(ctx, tx, target, "SELECT * FROM cls_all WHERE _class = 'load'"); err != nil {
			return nil, err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine (run_id, job, file, line, reason, raw, quarantined_at)
		SELECT $1, $2, $3[_fid + 1], line, reason, raw, now() FROM q_all ORDER BY _fid, line`, runID, job, names); err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	return batchCounts(ctx, tx, len(files), conflicts)
}

// sequence classifies the batch's rows of keys held elsewhere or repeated across its files in
// file order: a row with the values of the key's previous holder (the table's row, or the
// batch's previous row) is a duplicate; one with other values replaces it (a conflict), and a
// row a later file replaces is loaded but never inserted (class 'replaced'). It returns the
// conflicts per file.
func sequence(ctx context.Context, tx *sql.Tx, keys []string, on func(a, b string) string, repeated bool) (map[int]int64, error) {
	of := "EXISTS (SELECT 1 FROM cls_held h WHERE h._fid = c._fid AND h._line = c._line)"
	if repeated {
		of += " OR EXISTS (SELECT 1 FROM cls_rep r WHERE " + on("r", "c") + ")"
	}
	k := strings.Join(keys, ", ")
	if _, err := tx.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE cls_seq AS
		WITH a AS (SELECT c._fid, c._line, `+prefixed("c.", keys)+`, c._h FROM cls_all c WHERE c._class = 'load' AND (`+of+`)),
		s AS (SELECT a.*, lag(a._h) OVER w AS _prev_h, row_number() OVER w AS _n, h._same AS _held_same
			FROM a LEFT JOIN cls_held h ON h._fid = a._fid AND h._line = a._line
			WINDOW w AS (PARTITION BY `+prefixed("a.", keys)+` ORDER BY a._fid, a._line))
		SELECT _fid, _line, `+k+`,
			CASE WHEN _n = 1 THEN coalesce(_held_same, false) ELSE _prev_h = _h END AS _dup,
			CASE WHEN _n = 1 THEN coalesce(NOT _held_same, false) ELSE _prev_h <> _h END AS _conflict
		FROM s`); err != nil {
		return nil, fmt.Errorf("order rows of one key: %w", err)
	}
	for _, q := range []string{
		"UPDATE cls_all SET _class = 'duplicate' FROM cls_seq s WHERE s._dup AND s._fid = cls_all._fid AND s._line = cls_all._line",
		`UPDATE cls_all SET _class = 'replaced' FROM (SELECT _fid, _line FROM cls_seq WHERE NOT _dup
			QUALIFY row_number() OVER (PARTITION BY ` + k + ` ORDER BY _fid DESC, _line DESC) > 1) s
			WHERE s._fid = cls_all._fid AND s._line = cls_all._line`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("classify rows of one key: %w", err)
		}
	}
	rows, err := tx.QueryContext(ctx, "SELECT _fid, count(*) FROM cls_seq WHERE _conflict GROUP BY _fid")
	if err != nil {
		return nil, fmt.Errorf("count conflicts: %w", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var fid int
		var n int64
		if err := rows.Scan(&fid, &n); err != nil {
			return nil, fmt.Errorf("count conflicts: %w", err)
		}
		out[fid] = n
	}
	return out, rows.Err()
}

// batchCounts are each file's counts after the merge ('replaced' rows count as loaded).
func batchCounts(ctx context.Context, tx *sql.Tx, n int, conflicts map[int]int64) ([]counts, error) {
	out := make([]counts, n)
	rows, err := tx.QueryContext(ctx, `SELECT _fid, count(*) FILTER (_class IN ('load', 'replaced')),
		count(*) FILTER (_class = 'quarantine'), count(*) FILTER (_class = 'duplicate') FROM cls_all GROUP BY _fid`)
	if err != nil {
		return nil, fmt.Errorf("count classes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var fid int
		var c counts
		if err := rows.Scan(&fid, &c.loaded, &c.quarantined, &c.duplicate); err != nil {
			return nil, fmt.Errorf("count classes: %w", err)
		}
		c.conflict = conflicts[fid]
		out[fid] = c
	}
	return out, rows.Err()
}
