package etl

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
)

// A job's CSV files that share a header are staged by one read_csv over all of them (a statement
// per file costs more than its rows at a month of events per file), into stgb_data with each
// row's file path; the view stg numbers them (_fid: the file's index in the job's list, _line:
// its line). A file whose line numbers need more than its rows' order — reader rejects, blank
// lines or quoted newlines — is staged again alone by stageCSV, which maps them to true lines,
// and its rows come from there (stgb_fixed).

// pathColumn is the staging column of each row's file path; a file with a column of that name
// is staged alone.
const pathColumn = "_ltc_path"

// csvGroup is a set of files of one job read together: fids index the job's files.
type csvGroup struct {
	cols []string
	fids []int
}

// csvGroups groups the job's non-empty CSV files by header (in file order); files is every
// changed file, those of 0 bytes or no columns are left out (they stage as empty).
func csvGroups(spec *source.Spec, files []fileInfo) ([]csvGroup, error) {
	delim, quote := csvDialect(spec)
	var out []csvGroup
	for i, f := range files {
		if f.size == 0 {
			continue
		}
		cols, err := csvColumns(f.path, delim, quote[0], !spec.CSV.NoHeader)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		if len(cols) == 0 || slices.Contains(cols, pathColumn) {
			continue
		}
		g := slices.IndexFunc(out, func(g csvGroup) bool { return slices.Equal(g.cols, cols) })
		if g < 0 {
			out = append(out, csvGroup{cols: cols})
			g = len(out) - 1
		}
		out[g].fids = append(out[g].fids, i)
	}
	return out, nil
}

// csvDialect is the configured delimiter and quote, RFC 4180 by default: sniffing the dialect
// per file would let a stray ' or ; change how a file splits into records.
func csvDialect(spec *source.Spec) (delim, quote string) {
	delim, quote = spec.CSV.Delimiter, spec.CSV.Quote
	if delim == "" {
		delim = ","
	}
	if quote == "" {
		quote = `"`
	}
	return delim, quote
}

// readCSVQuery is the read_csv call of paths (one file, or a list read together, with each row's
// path in pathColumn): every column text, the rejects in csv_rejects.
func readCSVQuery(p *params, spec *source.Spec, paths []string, cols []string) string {
	delim, quote := csvDialect(spec)
	var src, extra string
	if len(paths) == 1 {
		src = p.bind(paths[0])
	} else {
		// (A list of paths is not bound: read_csv takes no list parameter.)
		quoted := make([]string, len(paths))
		for i, path := range paths {
			quoted[i] = literal(path)
		}
		src, extra = "["+strings.Join(quoted, ", ")+"]", ", filename = "+literal(pathColumn)
	}
	// The columns come from the first record, not DuckDB's sniffer: the sniffer fails the whole
	// file on one record over max_line_size, which the reader itself rejects like any bad record.
	return "read_csv(" + src + ", all_varchar = true, store_rejects = true, rejects_table = 'csv_rejects', rejects_scan = 'csv_reject_scans'" +
		", header = " + p.bind(!spec.CSV.NoHeader) + ", delim = " + p.bind(delim) + ", quote = " + p.bind(quote) + ", escape = " + p.bind(quote) +
		", auto_detect = false, columns = " + columnsLiteral(cols) + extra + ")"
}

// stageCSVGroup stages the files g.fids of files in one read (see above) and returns the group's
// staging (its columns; fids set: stg carries _fid) and each file's (nil: no record).
func stageCSVGroup(ctx context.Context, conn *sql.Conn, spec *source.Spec, files []fileInfo, g csvGroup) (*staged, map[int]*staged, error) {
	for _, q := range []string{"DROP VIEW IF EXISTS stg", "DROP TABLE IF EXISTS stgb_data", "DROP TABLE IF EXISTS stgb_files",
		"DROP TABLE IF EXISTS stgb_fixed", "DROP TABLE IF EXISTS csv_rejects", "DROP TABLE IF EXISTS csv_reject_scans"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, nil, fmt.Errorf("stage csv files: %w", err)
		}
	}
	paths := make([]string, len(g.fids))
	for i, fid := range g.fids {
		paths[i] = files[fid].path
	}
	p := &params{}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE stgb_data AS SELECT * FROM "+readCSVQuery(p, spec, paths, g.cols), p.args...); err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	first := int64(1)
	if !spec.CSV.NoHeader {
		first = 2
	}
	// Each file's rows, rowids and reader rejects.
	type stat struct{ n, lo, hi, rejects int64 }
	stats := map[string]*stat{}
	rows, err := conn.QueryContext(ctx, `SELECT `+ident(pathColumn)+`, count(*), min(rowid), max(rowid), 0 FROM stgb_data GROUP BY ALL
		UNION ALL SELECT s.file_path, 0, 0, 0, count(DISTINCT r.line) FROM csv_rejects r JOIN csv_reject_scans s USING (scan_id, file_id) GROUP BY ALL`)
	if err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var path string
		var s stat
		if err := rows.Scan(&path, &s.n, &s.lo, &s.hi, &s.rejects); err != nil {
			return nil, nil, fmt.Errorf("read csv: %w", err)
		}
		if t := stats[path]; t != nil {
			s.n, s.lo, s.hi, s.rejects = s.n+t.n, max(s.lo, t.lo), max(s.hi, t.hi), s.rejects+t.rejects
		}
		stats[path] = &s
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read csv: %w", err)
	}
	rows.Close()
	group := &staged{fids: g.fids, columns: map[string]bool{}}
	for _, c := range g.cols {
		if !strings.HasPrefix(c, "_") || c == "_raw" {
			group.columns[c] = true
		}
	}
	each := map[int]*staged{}
	var cleanPaths []string
	var cleanFids []int
	var bases []int64
	var fixed []int
	for _, fid := range g.fids {
		f := files[fid]
		s := stats[f.path]
		if s == nil {
			s = &stat{}
		}
		switch {
		case s.n == 0 && s.rejects == 0:
			each[fid] = nil // a header only: no record
		case s.rejects == 0 && s.hi-s.lo+1 == s.n && f.lines <= first-1+s.n:
			// Record k is on line k+first-1 and has rowid lo+k-1 (rows keep file order).
			cleanPaths, cleanFids, bases = append(cleanPaths, f.path), append(cleanFids, fid), append(bases, s.lo-first)
			each[fid] = &staged{rows: s.n}
		default:
			fixed = append(fixed, fid)
		}
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE stgb_files AS SELECT unnest($1::VARCHAR[]) AS "+ident(pathColumn)+
		", unnest("+intList(cleanFids)+"::INTEGER[]) AS _fid, unnest("+intList(bases)+"::BIGINT[]) AS _base", cleanPaths); err != nil {
		return nil, nil, fmt.Errorf("stage csv files: %w", err)
	}
	// A file read again alone drops stg; its numbered rows are copied into stgb_fixed.
	for i, fid := range fixed {
		st, err := stageCSV(ctx, conn, spec, files[fid])
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", files[fid].name, err)
		}
		if st.rows == 0 && len(st.rejected) == 0 {
			st = nil
		}
		each[fid] = st
		q := "INSERT INTO stgb_fixed SELECT $1::INTEGER AS _fid, * FROM stg"
		if i == 0 {
			q = "CREATE TEMP TABLE stgb_fixed AS SELECT $1::INTEGER AS _fid, * FROM stg"
		}
		if _, err := conn.ExecContext(ctx, q, fid); err != nil {
			return nil, nil, fmt.Errorf("stage csv files: %w", err)
		}
	}
	view := "CREATE OR REPLACE TEMP VIEW stg AS SELECT f._fid, s.rowid - f._base AS _line, s.* EXCLUDE (" + ident(pathColumn) +
		") FROM stgb_data s JOIN stgb_files f USING (" + ident(pathColumn) + ")"
	if len(fixed) > 0 {
		view += " UNION ALL BY NAME SELECT * FROM stgb_fixed"
	}
	if _, err := conn.ExecContext(ctx, view); err != nil {
		return nil, nil, fmt.Errorf("stage csv files: %w", err)
	}
	return group, each, nil
}
