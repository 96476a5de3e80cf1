package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
)

// staged is one source file read into a temp table (stg_data; for CSV, stg_lined when lines were
// renumbered), read through the temp view stg: _line (the record's line or row number),
// the source columns, and _raw (the record as text, kept for the quarantine).
type staged struct {
	// rows is the number of records in stg; rejected holds records the reader could not parse.
	rows     int64
	rejected []rejectedRow
	// columns present in the file (empty for JSON Lines, whose records carry their own keys).
	columns map[string]bool
	// types are the staged columns' DuckDB types (VARCHAR for text formats).
	types map[string]string
	// jsonPaths are the paths classify reads from each JSON Lines record (jsonField).
	jsonPaths []string
	// fids are the files staged together (stageCSVGroup): stg then carries each row's _fid.
	fids []int
}

// jsonField is the text of key name of a JSON Lines record: an element of the list _j, the values
// at every path of jsonPaths, which classify extracts in one parse of the record (a
// json_extract_string per field parses it once per field, sixty times the cost at 12 fields).
func (s *staged) jsonField(name string) string {
	path := `$."` + strings.ReplaceAll(name, `"`, `\"`) + `"`
	i := slices.Index(s.jsonPaths, path)
	if i < 0 {
		s.jsonPaths = append(s.jsonPaths, path)
		i = len(s.jsonPaths) - 1
	}
	return fmt.Sprintf("s._j[%d]", i+1)
}

// rejectedRow is a record the file reader itself refused (ragged row, bad encoding, bad JSON).
type rejectedRow struct {
	line   int64
	reason string
	raw    string
}

// errEmptyFile marks a file with no bytes; it loads nothing and is not an error.
var errEmptyFile = errors.New("empty file")

// stageFile reads path into the temp table stg on conn with DuckDB's own readers.
func stageFile(ctx context.Context, conn *sql.Conn, spec *source.Spec, f fileInfo) (*staged, error) {
	path := f.path
	for _, q := range []string{"DROP VIEW IF EXISTS stg", "DROP TABLE IF EXISTS stg_data", "DROP TABLE IF EXISTS stg_lined", "DROP TABLE IF EXISTS stg_numbered"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("source file: %w", err)
	}
	if st.Size() == 0 {
		return nil, errEmptyFile
	}
	switch spec.Format {
	case "csv":
		return stageCSV(ctx, conn, spec, f)
	case "jsonl":
		return stageJSONL(ctx, conn, path)
	case "parquet":
		return stageParquet(ctx, conn, path)
	case source.FormatXES:
		return stageXES(ctx, conn, spec, path)
	}
	return nil, fmt.Errorf("unknown format %q", spec.Format)
}

func stageCSV(ctx context.Context, conn *sql.Conn, spec *source.Spec, f fileInfo) (*staged, error) {
	path := f.path
	for _, t := range []string{"csv_rejects", "csv_reject_scans", "stg_shifted", "csv_rejected", "csv_shift"} {
		if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return nil, err
		}
	}
	// Records are numbered in file order: with a header, record k is on line k+1. The table keeps
	// file order (insertion order is preserved), so when its rowids are contiguous record k has
	// rowid min+k-1 and the view stg numbers the lines without a window over the file. When the
	// reader rejects records, the good ones are renumbered below.
	first := int64(1)
	if !spec.CSV.NoHeader {
		first = 2
	}
	delim, quote := csvDialect(spec)
	cols, err := csvColumns(path, delim, quote[0], !spec.CSV.NoHeader)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, errEmptyFile
	}
	p := &params{}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE stg_data AS SELECT * FROM "+readCSVQuery(p, spec, []string{path}, cols), p.args...); err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	var n, lo, hi sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT count(*), min(rowid), max(rowid) FROM stg_data").Scan(&n, &lo, &hi); err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	view := fmt.Sprintf("CREATE TEMP VIEW stg AS SELECT rowid - %d AS _line, * FROM stg_data", lo.Int64-first)
	if n.Int64 > 0 && hi.Int64-lo.Int64+1 != n.Int64 {
		// Not contiguous (never seen): number the rows in a table, in rowid (file) order.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE TEMP TABLE stg_numbered AS
			SELECT row_number() OVER (ORDER BY rowid) + %d AS _line, * FROM stg_data`, first-1)); err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		view = "CREATE TEMP VIEW stg AS SELECT * FROM stg_numbered"
	}
	if _, err := conn.ExecContext(ctx, view); err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	// DuckDB numbers the good records (header = 1, blank lines skipped) and the rejected ones
	// (by line, quoted newlines not counted) differently from the file's lines: when the file has
	// more newlines than records, one pass over it maps both to true lines.
	var records int64
	if err := conn.QueryRowContext(ctx, "SELECT $1 + (SELECT count(*) FROM stg) + (SELECT count(DISTINCT line) FROM csv_rejects)", first-1).Scan(&records); err != nil {
		return nil, fmt.Errorf("number csv lines: %w", err)
	}
	var lines *csvLines
	if f.lines > records {
		if lines, err = scanCSVLines(path, quote[0]); err != nil {
			return nil, err
		}
	}
	s := &staged{}
	rows, err := conn.QueryContext(ctx, `SELECT line, string_agg(error_type || coalesce(' in column ' || column_name, '') || ': ' || error_message, '; '), any_value(csv_line)
		FROM csv_rejects GROUP BY line ORDER BY line`)
	if err != nil {
		return nil, fmt.Errorf("read csv rejects: %w", err)
	}
	defer rows.Close()
	var rejectedRecords []int64
	for rows.Next() {
		var r rejectedRow
		var raw sql.NullString
		if err := rows.Scan(&r.line, &r.reason, &raw); err != nil {
			return nil, err
		}
		r.reason = "unreadable record: " + r.reason
		r.raw = raw.String
		rejectedRecords = append(rejectedRecords, lines.record(r.line))
		r.line = lines.trueLineOfRejected(r.line)
		s.rejected = append(s.rejected, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(s.rejected) > 0 {
		// Good record k is the k-th record after the header that the reader did not reject.
		if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE csv_rejected (record BIGINT)"); err != nil {
			return nil, fmt.Errorf("number csv lines: %w", err)
		}
		for _, rec := range rejectedRecords {
			if _, err := conn.ExecContext(ctx, "INSERT INTO csv_rejected VALUES ($1)", rec); err != nil {
				return nil, fmt.Errorf("number csv lines: %w", err)
			}
		}
		if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE stg_lined AS
			WITH lines AS (
				SELECT row_number() OVER (ORDER BY l) + $1 - 1 AS _old, l AS _new
				FROM range($1, $1 + (SELECT count(*) FROM stg) + (SELECT count(*) FROM csv_rejected)) t(l)
				WHERE l NOT IN (SELECT record FROM csv_rejected))
			SELECT lines._new AS _line, s.* EXCLUDE (_line) FROM stg s JOIN lines ON lines._old = s._line ORDER BY 1`, first); err != nil {
			return nil, fmt.Errorf("number csv lines: %w", err)
		}
		// (Not a rename of stg_lined: inside the run's transaction that would lose its rows.)
		for _, q := range []string{"CREATE OR REPLACE TEMP VIEW stg AS SELECT * FROM stg_lined", "DROP TABLE stg_data", "DROP TABLE IF EXISTS stg_numbered"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("number csv lines: %w", err)
			}
		}
	}
	if err := lines.renumber(ctx, conn); err != nil {
		return nil, err
	}
	return s.finish(ctx, conn)
}

func stageJSONL(ctx context.Context, conn *sql.Conn, path string) (*staged, error) {
	// Each line is read as text, then checked as JSON, so a malformed line is quarantined with its
	// number instead of failing or being skipped silently.
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE stg_data AS
		SELECT row_number() OVER () AS _line, raw AS _raw, CASE WHEN json_valid(raw) THEN json_type(raw) = 'OBJECT' ELSE false END AS _valid
		FROM read_csv(?, columns = {'raw': 'VARCHAR'}, delim = E'\x01', quote = '', escape = '', header = false,
		              auto_detect = false, store_rejects = true, rejects_table = 'json_rejects', rejects_scan = 'json_reject_scans')`, path); err != nil {
		return nil, fmt.Errorf("read jsonl: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP VIEW stg AS SELECT * FROM stg_data"); err != nil {
		return nil, fmt.Errorf("read jsonl: %w", err)
	}
	s := &staged{}
	rows, err := conn.QueryContext(ctx, `SELECT _line, _raw FROM stg WHERE NOT coalesce(_valid, false) AND trim(coalesce(_raw, '')) <> '' ORDER BY _line`)
	if err != nil {
		return nil, fmt.Errorf("read jsonl: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r := rejectedRow{reason: "unreadable record: not a JSON object"}
		if err := rows.Scan(&r.line, &r.raw); err != nil {
			return nil, err
		}
		s.rejected = append(s.rejected, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rejectsFrom(ctx, conn, "json_rejects", s); err != nil {
		return nil, err
	}
	// Blank lines are not records.
	if _, err := conn.ExecContext(ctx, "DELETE FROM stg_data WHERE NOT coalesce(_valid, false)"); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "DROP TABLE IF EXISTS json_rejects; DROP TABLE IF EXISTS json_reject_scans"); err != nil {
		return nil, err
	}
	return s.finish(ctx, conn)
}

// rejectsFrom appends the reader rejects (e.g. invalid UTF-8) of table to s.
func rejectsFrom(ctx context.Context, conn *sql.Conn, table string, s *staged) error {
	rows, err := conn.QueryContext(ctx, "SELECT line, error_type || ': ' || error_message, csv_line FROM "+table+" ORDER BY line")
	if err != nil {
		return fmt.Errorf("read rejects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r rejectedRow
		var raw sql.NullString
		if err := rows.Scan(&r.line, &r.reason, &raw); err != nil {
			return err
		}
		r.reason, r.raw = "unreadable record: "+r.reason, raw.String
		s.rejected = append(s.rejected, r)
	}
	return rows.Err()
}

// stageParquet makes stg a view over the Parquet file, not a copy of it: classify reads the file
// once, straight into the batch (a copy would read it, write it and read it again), and counting
// its rows and listing its columns read only its metadata. prepareFile checks after classify that
// the file is still the version listed.
func stageParquet(ctx context.Context, conn *sql.Conn, path string) (*staged, error) {
	if _, err := conn.ExecContext(ctx, `CREATE TEMP VIEW stg AS
		SELECT file_row_number + 1 AS _line, * EXCLUDE (file_row_number) FROM read_parquet(`+literal(path)+`, file_row_number = true)`); err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	s, err := (&staged{}).finish(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	return s, nil
}

// finish counts the staged rows and lists the columns with their types.
func (s *staged) finish(ctx context.Context, conn *sql.Conn) (*staged, error) {
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM stg").Scan(&s.rows); err != nil {
		return nil, err
	}
	rows, err := conn.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE stg)")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	s.columns, s.types = map[string]bool{}, map[string]string{}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(c, "_") || c == "_raw" {
			s.columns[c], s.types[c] = true, t
		}
	}
	return s, rows.Err()
}
