package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/ltc-analytics/ltc/etl/source"
)

// xesAliases are the staged columns an XES event gets under canonical names, so that a log maps
// onto stage_events without a columns section: the case, the activity, its time, who did it and
// in which role. The XES keys stay mappable too (from: "concept:name", from: "trace:<key>").
var xesAliases = []struct{ column, key string }{
	{"case_id", "trace:concept:name"},
	{"activity", "concept:name"},
	{"occurred_at", "time:timestamp"},
	{"actor_id", "org:resource"},
	{"actor_role", "org:role"},
}

// xesTracePrefix names a trace attribute among an event's columns.
const xesTracePrefix = "trace:"

// stageXES streams an XES log into stg: one row per event kept by the lifecycle filter, _line
// its number in the log (1, 2, … in file order; the event's seq), _xml_line the line of its
// <event> tag, and a text column per attribute key met in the log (event keys as written, trace
// keys as trace:<key>) plus the canonical aliases. A trace whose XML is malformed is rejected
// whole, at the line of its <trace> tag and with its byte offset, and reading resumes at the next.
func stageXES(ctx context.Context, conn *sql.Conn, spec *source.Spec, path string) (*staged, error) {
	sc, err := openXES(path)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE stg_xes (_line BIGINT, _xml_line BIGINT, _raw VARCHAR)"); err != nil {
		return nil, fmt.Errorf("read xes: %w", err)
	}
	keys := map[string]bool{}
	var order []string
	s := &staged{}
	var n int64
	var buf []byte
	err = appendRows(ctx, conn, "stg_xes", func(a *duckdb.Appender) error {
		for {
			tr, bad, err := sc.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if bad != nil {
				s.rejected = append(s.rejected, rejectedRow{line: bad.line, raw: bad.raw,
					reason: fmt.Sprintf("unreadable record: malformed XML in the trace at byte %d (line %d): %v; none of its events loaded", bad.offset, bad.line, bad.err)})
			}
			if err != nil {
				return err
			}
			if tr == nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, ev := range tr.events {
				if !keepLifecycle(spec.XES.Lifecycle, ev.attrs) {
					continue
				}
				n++
				buf = append(buf[:0], '{')
				for _, at := range ev.attrs {
					buf = addXESKey(buf, at.key, at.value, keys, &order)
				}
				for _, at := range tr.attrs {
					buf = addXESKey(buf, xesTracePrefix+at.key, at.value, keys, &order)
				}
				if len(buf) > 1 {
					buf = buf[:len(buf)-1] // the last comma
				}
				buf = append(buf, '}')
				if err := a.AppendRow(n, ev.line, string(buf)); err != nil {
					return fmt.Errorf("read xes: stage event %d: %w", n, err)
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if err := xesColumns(ctx, conn, order); err != nil {
		return nil, err
	}
	return s.finish(ctx, conn)
}

// keepLifecycle reports whether an event passes the lifecycle filter: no filter, no
// lifecycle:transition attribute, or a transition in the list.
func keepLifecycle(keep []string, attrs []xesAttr) bool {
	if len(keep) == 0 {
		return true
	}
	for _, at := range attrs {
		if at.key == "lifecycle:transition" {
			return slices.Contains(keep, at.value)
		}
	}
	return true
}

// addXESKey appends "key":"value", to a JSON object under construction and records a new key.
func addXESKey(buf []byte, key, value string, keys map[string]bool, order *[]string) []byte {
	if !keys[key] {
		keys[key] = true
		*order = append(*order, key)
	}
	buf = appendJSONString(buf, key)
	buf = append(buf, ':')
	buf = appendJSONString(buf, value)
	return append(buf, ',')
}

// xesColumns turns the staged JSON records into stg_data (one text column per key, in the order
// met, after the canonical aliases) and the view stg.
func xesColumns(ctx context.Context, conn *sql.Conn, order []string) error {
	p := &params{}
	var paths []string
	index := map[string]int{}
	for _, k := range order {
		paths = append(paths, `$."`+strings.ReplaceAll(strings.ReplaceAll(k, `\`, `\\`), `"`, `\"`)+`"`)
		index[k] = len(paths)
	}
	cols := []string{"_line", "_xml_line"}
	taken := map[string]bool{}
	for _, al := range xesAliases {
		taken[al.column] = true
		if i, ok := index[al.key]; ok {
			cols = append(cols, fmt.Sprintf("v[%d] AS %s", i, ident(al.column)))
		} else {
			cols = append(cols, "NULL::VARCHAR AS "+ident(al.column))
		}
	}
	for _, k := range order {
		if !taken[k] && !strings.HasPrefix(k, "_") {
			cols = append(cols, fmt.Sprintf("v[%d] AS %s", index[k], ident(k)))
		}
	}
	values := "[]::VARCHAR[]"
	if len(paths) > 0 {
		values = "json_extract_string(_raw, " + p.bind(paths) + "::VARCHAR[])"
	}
	q := "CREATE TEMP TABLE stg_data AS SELECT " + strings.Join(cols, ", ") + " FROM (SELECT _line, _xml_line, " + values + " AS v FROM stg_xes)"
	if _, err := conn.ExecContext(ctx, q, p.args...); err != nil {
		return fmt.Errorf("read xes: columns: %w", err)
	}
	for _, q := range []string{"DROP TABLE stg_xes", "CREATE TEMP VIEW stg AS SELECT * FROM stg_data"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("read xes: %w", err)
		}
	}
	return nil
}

// appendJSONString appends s as a JSON string (invalid UTF-8 becomes U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// xesFileColumns returns the columns an XES log's events have (for ltc check): the canonical
// aliases and the keys of the first trace that has an event.
func xesFileColumns(path string) (map[string]bool, error) {
	sc, err := openXES(path)
	if err != nil {
		return nil, err
	}
	defer sc.Close()
	have := map[string]bool{}
	for _, al := range xesAliases {
		have[al.column] = true
	}
	for {
		tr, _, err := sc.next()
		if errors.Is(err, io.EOF) {
			return have, nil
		}
		if err != nil {
			return nil, err
		}
		if tr == nil || len(tr.events) == 0 {
			continue
		}
		for _, at := range tr.attrs {
			have[xesTracePrefix+at.key] = true
		}
		for _, ev := range tr.events {
			for _, at := range ev.attrs {
				have[at.key] = true
			}
		}
		return have, nil
	}
}
