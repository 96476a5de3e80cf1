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
// the header's names, made unique and non-empty as DuckDB would (name_1, columnN), or column0,
// column1, … without a header. delim and quote are single bytes.
func csvColumns(path string, delim, quote byte, header bool) ([]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReader(fh)
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
		case b == delim:
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

// columnsLiteral is read_csv's columns option for names, all VARCHAR. Table function options
// take no bound parameters; the names (from the file's header) are quoted as string literals.
func columnsLiteral(names []string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = "'" + strings.ReplaceAll(n, "'", "''") + "': 'VARCHAR'"
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// lineShift says that records from record line from on (DuckDB numbers records, not lines:
// record k of a file with a header is its line k+1) start extra lines further down, because
// quoted fields before them spanned lines.
type lineShift struct{ from, extra int64 }

// csvLineShifts scans a CSV file for newlines inside quoted fields and returns where record
// lines and true lines part.
func csvLineShifts(path string, quote byte) ([]lineShift, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("number csv lines: %w", err)
	}
	defer fh.Close()
	r := bufio.NewReaderSize(fh, 1<<20)
	var out []lineShift
	record, extra := int64(1), int64(0)
	inQuote := false
	for {
		b, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("number csv lines: %w", err)
		}
		switch {
		case b == quote:
			inQuote = !inQuote // an escaped quote ("") toggles twice
		case b == '\n' && inQuote:
			extra++
		case b == '\n':
			record++
			if n := len(out); extra > 0 && (n == 0 || out[n-1].extra != extra) {
				out = append(out, lineShift{from: record, extra: extra})
			}
		}
	}
}

// trueLine is the file line of record line l.
func trueLine(shifts []lineShift, l int64) int64 {
	i := sort.Search(len(shifts), func(i int) bool { return shifts[i].from > l })
	if i == 0 {
		return l
	}
	return l + shifts[i-1].extra
}

// shiftLines renumbers the staged CSV records (stg) and the rejected ones from record lines to
// true lines, when quoted fields spanned lines (the file has more newlines than records).
func shiftLines(ctx context.Context, conn *sql.Conn, f fileInfo, quote byte, records int64, s *staged) error {
	if f.lines <= records {
		return nil
	}
	shifts, err := csvLineShifts(f.path, quote)
	if err != nil || len(shifts) == 0 {
		return err
	}
	for i := range s.rejected {
		s.rejected[i].line = trueLine(shifts, s.rejected[i].line)
	}
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE csv_shift (from_line BIGINT, extra BIGINT)"); err != nil {
		return fmt.Errorf("number csv lines: %w", err)
	}
	for _, sh := range shifts {
		if _, err := conn.ExecContext(ctx, "INSERT INTO csv_shift VALUES ($1, $2)", sh.from, sh.extra); err != nil {
			return fmt.Errorf("number csv lines: %w", err)
		}
	}
	for _, q := range []string{
		`CREATE OR REPLACE TEMP TABLE stg_shifted AS SELECT s._line + coalesce(l.extra, 0) AS _line, s.* EXCLUDE (_line)
			FROM stg s ASOF LEFT JOIN csv_shift l ON s._line >= l.from_line ORDER BY s._line`,
		"CREATE OR REPLACE TEMP VIEW stg AS SELECT * FROM stg_shifted",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("number csv lines: %w", err)
		}
	}
	return nil
}
