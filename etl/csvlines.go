package etl

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// csvColumns reads the first record of a CSV file and returns the column names read_csv gets
// (so DuckDB does not sniff the file, whose sniffer fails a whole file on one over-long record):
// the header's names, trimmed, made unique and non-empty as DuckDB's sniffer would (name_1,
// columnN; a UTF-8 byte order mark dropped), or column0, column1, … without a header.
func csvColumns(path string, delim string, quote byte, header bool) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReader(fh)
	if bom, err := r.Peek(3); err == nil && string(bom) == "\xef\xbb\xbf" {
		r.Discard(3)
	}
	var fields []string
	var cur strings.Builder
	inQuote, started := false, false
	for {
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv header: %w", err)
		}
		started = true
		switch {
		case b == quote && inQuote:
			if next, err := r.Peek(1); err == nil && next[0] == quote {
				r.ReadByte()
				cur.WriteByte(quote)
			} else {
				inQuote = false
			}
		case b == quote && cur.Len() == 0:
			inQuote = true
		case inQuote:
			cur.WriteByte(b)
		case b == delim[0] && isRest(r, delim[1:]):
			r.Discard(len(delim) - 1)
			fields = append(fields, cur.String())
			cur.Reset()
		case b == '\n':
			goto done
		case b != '\r':
			cur.WriteByte(b)
		}
	}
done:
	if started {
		fields = append(fields, cur.String())
	}
	names := make([]string, len(fields))
	seen := map[string]bool{}
	for i, f := range fields {
		name := strings.TrimSpace(f)
		if !header || name == "" {
			name = fmt.Sprintf("column%d", i)
		}
		for base, n := name, 1; seen[name]; n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		seen[name] = true
		names[i] = name
	}
	return names, nil
}

// isRest reports whether r continues with rest (the rest of a multi-byte delimiter).
func isRest(r *bufio.Reader, rest string) bool {
	if rest == "" {
		return true
	}
	next, err := r.Peek(len(rest))
	return err == nil && string(next) == rest
}

// columnsLiteral is read_csv's columns option for names, all VARCHAR. Table function options
// take no bound parameters; the names (from the file's header) are quoted as string literals.
func columnsLiteral(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = literal(n) + ": 'VARCHAR'"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// lineShift says that from key on (a record number or a DuckDB line), the true line is key + extra.
type lineShift struct{ from, extra int64 }

// csvLines maps DuckDB's numbering of a CSV file's records to the file's true lines. DuckDB
// numbers the records it reads (record: the header is 1, blank lines are skipped) and the
// records it rejects (by line: blank lines count, newlines inside quoted fields do not).
// A nil *csvLines is the identity: every record on its own line, no blank lines.
type csvLines struct {
	recordToTrue, lineToRecord, lineToTrue []lineShift
}

// at applies shifts to key.
func at(shifts []lineShift, key int64) int64 {
	i := sort.Search(len(shifts), func(i int) bool { return shifts[i].from > key })
	if i == 0 {
		return key
	}
	return key + shifts[i-1].extra
}

// record is the record number of the rejected record on DuckDB line l.
func (c *csvLines) record(l int64) int64 {
	if c == nil {
		return l
	}
	return at(c.lineToRecord, l)
}

// trueLineOfRejected is the file line of the rejected record on DuckDB line l.
func (c *csvLines) trueLineOfRejected(l int64) int64 {
	if c == nil {
		return l
	}
	return at(c.lineToTrue, l)
}

// scanCSVLines reads a CSV file once and records where its record numbers, DuckDB lines and
// true lines part (quote escapes itself, so "" toggles twice).
func scanCSVLines(path string, quote byte) (*csvLines, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("number csv lines: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	c := &csvLines{}
	add := func(shifts *[]lineShift, from, extra int64) {
		n := len(*shifts)
		switch {
		case n > 0 && (*shifts)[n-1].from == from:
			(*shifts)[n-1].extra = extra
		case n > 0 && (*shifts)[n-1].extra == extra, n == 0 && extra == 0:
		default:
			*shifts = append(*shifts, lineShift{from, extra})
		}
	}
	// At the start of each record: its record number, DuckDB line and true line.
	record, line, true_ := int64(1), int64(1), int64(1)
	inQuote, empty := false, true
	for {
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("number csv lines: %w", err)
		}
		switch {
		case b == quote:
			inQuote = !inQuote
			empty = false
		case b == '\n' && inQuote:
			true_++
		case b == '\n':
			if !empty {
				record++
			}
			line++
			true_++
			empty = true
			add(&c.recordToTrue, record, true_-record)
			add(&c.lineToRecord, line, record-line)
			add(&c.lineToTrue, line, true_-line)
		case b != '\r':
			empty = false
		}
	}
}

// renumber moves the staged records (stg, numbered by record) to their true lines.
func (c *csvLines) renumber(ctx context.Context, conn *sql.Conn) error {
	if c == nil || len(c.recordToTrue) == 0 {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE csv_shift (from_record BIGINT, extra BIGINT)"); err != nil {
		return fmt.Errorf("number csv lines: %w", err)
	}
	for _, sh := range c.recordToTrue {
		if _, err := conn.ExecContext(ctx, "INSERT INTO csv_shift VALUES ($1, $2)", sh.from, sh.extra); err != nil {
			return fmt.Errorf("number csv lines: %w", err)
		}
	}
	for _, q := range []string{
		`CREATE OR REPLACE TEMP TABLE stg_shifted AS SELECT s._line + coalesce(l.extra, 0) AS _line, s.* EXCLUDE (_line)
			FROM stg s ASOF LEFT JOIN csv_shift l ON s._line >= l.from_record ORDER BY s._line`,
		"CREATE OR REPLACE TEMP VIEW stg AS SELECT * FROM stg_shifted",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("number csv lines: %w", err)
		}
	}
	return nil
}
