package etl

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// CheckSources verifies each source against the files its glob matches now: every column the
// mapping reads (a from, a lookup's from, or a required field read by its own name) must be in
// each file's header (CSV), schema (Parquet) or first record (JSON Lines), and a lookup file
// must have its key and value columns. It returns every problem, naming the source and file.
// db runs DuckDB's Parquet reader; resolve makes config-relative paths absolute.
func CheckSources(ctx context.Context, db *sql.DB, specs []source.Spec, resolve func(string) string) []error {
	targets := schema.CanonicalTargets()
	var errs []error
	for i := range specs {
		spec := &specs[i]
		target, ok := targets[spec.Target]
		if !ok {
			continue // config validation reports it
		}
		need := neededColumns(spec, target)
		if spec.Format == source.FormatPostgres {
			errs = append(errs, checkDatabase(ctx, spec, need)...)
			errs = append(errs, checkLookups(spec, resolve)...)
			continue
		}
		files, err := filepath.Glob(resolve(spec.Glob))
		if err != nil {
			continue // config validation reports a bad glob
		}
		sort.Strings(files)
		for _, path := range files {
			if st, err := os.Stat(path); err != nil || st.IsDir() || st.Size() == 0 {
				continue
			}
			have, err := fileColumns(ctx, db, spec, path)
			if err != nil {
				errs = append(errs, fmt.Errorf("source %q: %s: %w", spec.Name, path, err))
				continue
			}
			for _, n := range need {
				if !have[n.column] {
					errs = append(errs, fmt.Errorf("source %q: %s: missing column %q (for %s)", spec.Name, path, n.column, n.field))
				}
			}
		}
		errs = append(errs, checkLookups(spec, resolve)...)
	}
	return errs
}

// neededColumn is a source column the mapping of field reads.
type neededColumn struct{ column, field string }

// neededColumns lists the columns a source's mapping reads, in the target's field order.
func neededColumns(spec *source.Spec, target schema.Target) []neededColumn {
	var out []neededColumn
	for _, fl := range target.Fields {
		col, mapped := spec.Columns[fl.Name]
		switch {
		case col.Const != nil:
		case col.Lookup != nil:
			out = append(out, neededColumn{col.Lookup.From, fl.Name})
		case mapped && col.From != "":
			out = append(out, neededColumn{col.From, fl.Name})
		case fl.Required:
			out = append(out, neededColumn{fl.Name, fl.Name})
		}
	}
	for _, a := range spec.Attributes() { // attributes.<name> columns, in name order
		col := spec.Columns[source.AttributePrefix+a]
		switch {
		case col.Lookup != nil:
			out = append(out, neededColumn{col.Lookup.From, source.AttributePrefix + a})
		case col.From != "":
			out = append(out, neededColumn{col.From, source.AttributePrefix + a})
		}
	}
	return out
}

// fileColumns returns the columns of one source file.
func fileColumns(ctx context.Context, db *sql.DB, spec *source.Spec, path string) (map[string]bool, error) {
	have := map[string]bool{}
	switch spec.Format {
	case "csv":
		delim, quote := spec.CSV.Delimiter, spec.CSV.Quote
		if delim == "" {
			delim = ","
		}
		if quote == "" {
			quote = `"`
		}
		cols, err := csvColumns(path, delim, quote[0], !spec.CSV.NoHeader)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			have[c] = true
		}
	case "parquet":
		rows, err := db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet($1))", path)
		if err != nil {
			return nil, fmt.Errorf("read parquet schema: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return nil, fmt.Errorf("read parquet schema: %w", err)
			}
			have[c] = true
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read parquet schema: %w", err)
		}
	case source.FormatXES:
		return xesFileColumns(path)
	case "jsonl":
		rec, err := firstJSONRecord(path)
		if err != nil {
			return nil, err
		}
		for k := range rec {
			have[k] = true
		}
	}
	return have, nil
}

// firstJSONRecord decodes the first non-blank line of a JSON Lines file.
func firstJSONRecord(path string) (map[string]json.RawMessage, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("first record is not a JSON object: %w", err)
		}
		return rec, nil
	}
	return map[string]json.RawMessage{}, sc.Err()
}

// checkLookups verifies that each lookup file of spec has its key and value columns.
func checkLookups(spec *source.Spec, resolve func(string) string) []error {
	var errs []error
	fields := make([]string, 0, len(spec.Columns))
	for f := range spec.Columns {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		l := spec.Columns[f].Lookup
		if l == nil || l.File == "" {
			continue
		}
		path := resolve(l.File)
		cols, err := csvColumns(path, ",", '"', true)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %q: columns.%s.lookup: %w", spec.Name, f, err))
			continue
		}
		have := map[string]bool{}
		for _, c := range cols {
			have[c] = true
		}
		for _, c := range []string{l.Key, l.Value} {
			if !have[c] {
				errs = append(errs, fmt.Errorf("source %q: lookup file %s: missing column %q (for %s)", spec.Name, path, c, f))
			}
		}
	}
	return errs
}

// checkDatabase tries a database source's connection and checks that its table or query has
// every column the mapping reads, and the cursor column.
func checkDatabase(ctx context.Context, spec *source.Spec, need []neededColumn) []error {
	have, err := postgresColumns(ctx, spec)
	if err != nil {
		return []error{fmt.Errorf("source %q: %w", spec.Name, err)}
	}
	if spec.Cursor != "" {
		need = append(need, neededColumn{spec.Cursor, "the cursor"})
	}
	var errs []error
	for _, n := range need {
		if !have[n.column] {
			errs = append(errs, fmt.Errorf("source %q: %s: missing column %q (for %s)", spec.Name, dbSourceName(spec), n.column, n.field))
		}
	}
	return errs
}
