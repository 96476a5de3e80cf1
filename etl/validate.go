package etl

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// fileError rejects a whole file (e.g. a required column is missing); the run fails and nothing of it loads.
type fileError struct{ msg string }

func (e *fileError) Error() string { return e.msg }

// lookups are the temp tables holding lookup files, one per distinct (file, key, value).
type lookups struct {
	tables map[string]string
}

// prepare loads the lookup file of l into a temp table (first value per key) and returns its name.
func (lk *lookups) prepare(ctx context.Context, conn *sql.Conn, path string, l *source.Lookup) (string, error) {
	id := path + "\x00" + l.Key + "\x00" + l.Value
	if name, ok := lk.tables[id]; ok {
		return name, nil
	}
	name := fmt.Sprintf("lookup_%d", len(lk.tables))
	q := "CREATE OR REPLACE TEMP TABLE " + name + " AS SELECT " + ident(l.Key) + " AS k, first(" + ident(l.Value) +
		") AS v FROM read_csv($1, all_varchar = true) GROUP BY ALL"
	if _, err := conn.ExecContext(ctx, q, path); err != nil {
		return "", &fileError{fmt.Sprintf("lookup file %s (key %q, value %q): %v", path, l.Key, l.Value, err)}
	}
	lk.tables[id] = name
	return name, nil
}

// classify writes the staged rows of stg into the job's batch table cls_all in one statement,
// tagged as file fid, or each as its own file when stg holds several (st.fids) (first: the job's
// first rows, which create the table): the target's fields
// mapped and typed, plus _fid, _line, _class (load | quarantine | duplicate), _reason and _h (the
// hash of the fields). For a keyed target the first row of a key loads; a later row with
// identical values is a duplicate, one with different values is quarantined. Without a key (the
// event log), identical rows are duplicates.
func classify(ctx context.Context, conn *sql.Conn, spec *source.Spec, target schema.Target, st *staged,
	resolve func(string) string, lk *lookups, fid int, first bool) error {
	p := &params{}
	// The files classified: stg's own _fid when it holds several.
	fidCol, fids := "_fid", st.fids
	if fids == nil {
		fidCol, fids = p.bind(fid)+"::INTEGER AS _fid", []int{fid}
	}
	st.jsonPaths = nil
	var values, typed, reasons, names, sel []string
	for _, fl := range target.Fields {
		expr, err := valueExpr(ctx, conn, p, spec, fl, st, resolve, lk)
		if err != nil {
			return err
		}
		values = append(values, expr+" AS "+ident("v_"+fl.Name))
		if plainColumn(spec, fl, st) != "" {
			typed = append(typed, ident("v_"+fl.Name)+" AS "+ident(fl.Name))
		} else {
			typed = append(typed, typedExpr(p, spec, fl)+" AS "+ident(fl.Name))
		}
		reasons = append(reasons, reasonExprs(p, fl)...)
		names = append(names, ident(fl.Name))
		if target.Table == "stage_events" && fl.Name == "event_id" {
			// An event's identity: the source's id when mapped, else its content.
			sel = append(sel, `coalesce("event_id", `+eventIdentity+`) AS "event_id"`)
		} else {
			sel = append(sel, ident(fl.Name))
		}
	}
	if target.Table == "stage_events" {
		// The model's check: a quality gate's event must say whether the case passed.
		reasons = append(reasons, `CASE WHEN "outcome" IS NULL AND "activity" IN (SELECT activity FROM activity_map WHERE gate)
			THEN 'outcome: required for gate activity ''' || "activity" || ''' (pass or fail)' END`)
	}
	part := []string{"_h"}
	if len(target.Key) > 0 {
		part = make([]string, len(target.Key))
		for i, k := range target.Key {
			part[i] = ident(k)
		}
	}
	join := make([]string, len(part))
	fields := strings.Join(names, ", ")
	// One pass writes every row with its checks; a row failing none loads unless its key (the
	// whole row, without a key) repeats. Repeats are found by a GROUP BY (a small table of the
	// repeats) rather than a window over every row, which would sort the whole file, and only
	// the repeated rows are then reclassified.
	from := "stg s"
	if len(st.jsonPaths) > 0 {
		from = "(SELECT *, json_extract_string(_raw, " + p.bind(st.jsonPaths) + ") AS _j FROM stg) s"
	}
	// The rows go straight into the batch: no per-file table copied into it afterwards.
	write := "INSERT INTO cls_all BY NAME "
	if first {
		write = "CREATE TEMP TABLE cls_all AS "
	}
	q := write + `SELECT * FROM (
		WITH mapped AS (SELECT ` + fidCol + `, _line, ` + strings.Join(values, ", ") + ` FROM ` + from + `),
		typed AS (SELECT *, ` + strings.Join(typed, ", ") + ` FROM mapped),
		checked AS (SELECT _fid, _line, ` + strings.Join(sel, ", ") + `, nullif(concat_ws('; ', ` + strings.Join(reasons, ", ") + `), '') AS _reason,
			hash(` + fields + `) AS _h FROM typed)
		SELECT *, CASE WHEN _reason IS NULL THEN 'load' ELSE 'quarantine' END AS _class FROM checked)`
	if _, err := conn.ExecContext(ctx, q, p.args...); err != nil {
		return fmt.Errorf("validate: %w", err)
	}
	firstH := "arg_min(_h, _line)"
	if len(target.Key) == 0 {
		firstH = "_h" // the key is the hash itself
	}
	var repeats int64
	if err := conn.QueryRowContext(ctx, `CREATE OR REPLACE TEMP TABLE cls_repeats AS
		SELECT _fid, `+strings.Join(part, ", ")+`, min(_line) AS _first_line, `+firstH+` AS _first_h
		FROM cls_all WHERE list_contains(`+intList(fids)+`, _fid) AND _reason IS NULL GROUP BY ALL HAVING count(*) > 1`).Scan(&repeats); err != nil {
		return fmt.Errorf("validate: repeats: %w", err)
	}
	if repeats == 0 {
		return nil
	}
	// The first row of a repeated key loads; a later one with identical values is a duplicate,
	// one with different values is quarantined.
	for i, k := range part {
		join[i] = "d." + k + " = c." + k
	}
	if _, err := conn.ExecContext(ctx, `UPDATE cls_all c SET
			_class = CASE WHEN d._first_h = c._h THEN 'duplicate' ELSE 'quarantine' END,
			_reason = CASE WHEN d._first_h <> c._h THEN 'duplicate key: first seen on line ' || d._first_line || ' with different values' END
		FROM cls_repeats d WHERE c._fid = d._fid AND c._reason IS NULL AND d._first_line <> c._line AND `+strings.Join(join, " AND ")); err != nil {
		return fmt.Errorf("validate: repeats: %w", err)
	}
	return nil
}

// valueExpr is the SQL text value of a canonical field: from a source column, a constant or a
// lookup, then value-mapped and defaulted. Empty strings are NULL.
func valueExpr(ctx context.Context, conn *sql.Conn, p *params, spec *source.Spec, fl schema.Field, st *staged,
	resolve func(string) string, lk *lookups) (string, error) {
	if fl.Type == schema.Attributes {
		return attributesExpr(ctx, conn, p, spec, st, resolve, lk)
	}
	if c := plainColumn(spec, fl, st); c != "" {
		return c, nil
	}
	col, mapped := spec.Columns[fl.Name]
	var base string
	switch {
	case col.Const != nil:
		base = p.bind(*col.Const) + "::VARCHAR"
	case col.Lookup != nil:
		table, err := lk.prepare(ctx, conn, resolve(col.Lookup.File), col.Lookup)
		if err != nil {
			return "", err
		}
		from, err := sourceColumn(p, spec, st, col.Lookup.From, fl, true)
		if err != nil {
			return "", err
		}
		base = "(SELECT v FROM " + table + " WHERE k = " + from + ")"
	default:
		name := fl.Name
		explicit := mapped && col.From != ""
		if explicit {
			name = col.From
		}
		from, err := sourceColumn(p, spec, st, name, fl, explicit)
		if err != nil {
			return "", err
		}
		base = from
	}
	expr := "nullif(trim(" + base + "), '')"
	if strings.HasPrefix(base, "CAST(s.") {
		// A column of the file (cheap to repeat): trim only what can need it. trim removes
		// Unicode space separators, so an ASCII value (byte length = character length) needs
		// it only when it begins or ends with ' '; skipping trim costs a third of the time.
		expr = "nullif(CASE WHEN prefix(" + base + ", ' ') OR suffix(" + base + ", ' ') OR strlen(" + base + ") <> length(" + base +
			") THEN trim(" + base + ") ELSE " + base + " END, '')"
	}
	if len(col.Map) > 0 {
		keys := make([]string, 0, len(col.Map))
		for k := range col.Map {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("CASE " + expr)
		for _, k := range keys {
			// A value mapped to "" (or null in YAML) is NULL, like an empty source value.
			b.WriteString(" WHEN " + p.bind(k) + " THEN nullif(" + p.bind(col.Map[k]) + "::VARCHAR, '')")
		}
		b.WriteString(" ELSE " + expr + " END")
		expr = b.String()
	}
	if col.Default != nil {
		expr = "coalesce(" + expr + ", " + p.bind(*col.Default) + "::VARCHAR)"
	}
	return expr, nil
}

// plainColumn is the source column holding field fl's values as they are ("" if none): a column
// of the field's own type (a typed Parquet column), neither mapped, defaulted nor looked up, of a
// type with no text to trim, read in the session zone when a timestamp. Its values need no
// round trip through text (the same values: text of a typed value casts back to it).
func plainColumn(spec *source.Spec, fl schema.Field, st *staged) string {
	col := spec.Columns[fl.Name]
	if fl.Type == schema.String || fl.Type == schema.Attributes || col.Const != nil || col.Lookup != nil || len(col.Map) > 0 || col.Default != nil {
		return ""
	}
	if fl.Type == schema.Timestamp || fl.Type == schema.Date {
		zone := col.Timezone
		if zone == "" {
			zone = spec.Timezone
		}
		if col.Format != "" || spec.TimestampFormat != "" || (zone != "" && zone != schema.SessionTimeZone) {
			return ""
		}
	}
	name := fl.Name
	if col.From != "" {
		name = col.From
	}
	if !st.columns[name] || st.types[name] != string(fl.Type) {
		return ""
	}
	return "s." + ident(name)
}

// sourceColumn is the text of a source column. A column named in the config, or one a required
// field needs, must exist in the file (CSV and Parquet); otherwise the field is NULL.
func sourceColumn(p *params, spec *source.Spec, st *staged, name string, fl schema.Field, explicit bool) (string, error) {
	if spec.Format == "jsonl" {
		return st.jsonField(name), nil
	}
	if !st.columns[name] {
		if explicit || fl.Required {
			return "", &fileError{fmt.Sprintf("missing column %q (needed for %s)", name, fl.Name)}
		}
		return "NULL::VARCHAR", nil
	}
	return "CAST(s." + ident(name) + " AS VARCHAR)", nil
}

// typedExpr casts the mapped text v_<field> to the field's type; unparsable values become NULL.
func typedExpr(p *params, spec *source.Spec, fl schema.Field) string {
	v := ident("v_" + fl.Name)
	col := spec.Columns[fl.Name]
	switch fl.Type {
	case schema.Timestamp, schema.Date:
		format, zone := col.Format, col.Timezone
		if format == "" {
			format = spec.TimestampFormat
		}
		if zone == "" {
			zone = spec.Timezone
		}

		var ts string
		switch {
		case format != "" && zone != "":
			ts = "timezone(" + p.bind(zone) + ", try_strptime(" + v + ", " + p.bind(format) + "))::TIMESTAMP"
		case format != "":
			ts = "try_strptime(" + v + ", " + p.bind(format) + ")"
		case zone == schema.SessionTimeZone:
			// The same values as the case below (an offset is ignored there too), without
			// timezone(), which costs twenty times the cast.
			ts = "try_cast(" + v + " AS TIMESTAMP)"
		case zone != "":
			ts = "timezone(" + p.bind(zone) + ", try_cast(" + v + " AS TIMESTAMP))::TIMESTAMP"
		default:
			// ISO 8601; naive values are UTC (the session zone). Only values ending in an offset
			// (Z, ±hh, ±hhmm, ±hh:mm) take the slower TIMESTAMPTZ cast, which honours it.
			// (One regular expression: the same test spelled with left/right costs ten times the cast.)
			ts = "CASE WHEN length(" + v + ") > 10 AND regexp_matches(" + v + ", '(?s)(Z|[+-].{2}|[+-].{4}|[+-].{5})$')" +
				" THEN try_cast(" + v + " AS TIMESTAMPTZ)::TIMESTAMP ELSE try_cast(" + v + " AS TIMESTAMP) END"
		}
		if fl.Type == schema.Date {
			return "(" + ts + ")::DATE"
		}
		return ts
	case schema.String, schema.Attributes:
		return v
	default:
		return "try_cast(" + v + " AS " + string(fl.Type) + ")"
	}
}

// reasonExprs are the checks of one field, each NULL when it passes or a reason text when it fails.
func reasonExprs(p *params, fl schema.Field) []string {
	v, typed := ident("v_"+fl.Name), ident(fl.Name)
	var out []string
	if fl.Required {
		out = append(out, "CASE WHEN "+v+" IS NULL THEN "+p.bind(fl.Name+": required value missing")+" END")
	}
	if fl.Type != schema.String && fl.Type != schema.Attributes {
		out = append(out, "CASE WHEN "+v+" IS NOT NULL AND "+typed+" IS NULL THEN "+
			p.bind(fl.Name+": cannot parse '")+" || "+v+" || "+p.bind("' as "+typeWord(fl.Type))+" END")
	}
	if fl.Type == schema.Timestamp || fl.Type == schema.Date {
		// DuckDB reads years up to 294247; RFC 3339 (the API, exports) and Go's time end at 9999.
		out = append(out, "CASE WHEN NOT year("+typed+") BETWEEN 1 AND 9999 THEN "+
			p.bind(fl.Name+": '")+" || "+v+" || "+p.bind("' is out of range (years 1 to 9999)")+" END")
	}
	if len(fl.Enum) > 0 {
		out = append(out, "CASE WHEN "+typed+" IS NOT NULL AND NOT list_contains("+p.bind(fl.Enum)+", "+typed+") THEN "+
			p.bind(fl.Name+": '")+" || "+typed+" || "+p.bind("' is not one of "+strings.Join(fl.Enum, ", "))+" END")
	}
	if fl.NonNegative {
		out = append(out, "CASE WHEN "+typed+" < 0 THEN "+p.bind(fl.Name+": negative amount ")+" || "+typed+" END")
	}
	return out
}

func typeWord(t schema.FieldType) string {
	switch t {
	case schema.Timestamp:
		return "a timestamp"
	case schema.Date:
		return "a date"
	case schema.Decimal, schema.Double:
		return "a number"
	case schema.BigInt:
		return "an integer"
	case schema.Bool:
		return "true/false"
	}
	return string(t)
}
