package etl

import (
	"strings"
	"testing"
)

// TestLongCSVRecordIsQuarantined: one CSV record over DuckDB's 2 MB line limit is quarantined
// with its true line while the rest of its file and the other files of the glob load (issue 12,
// item 9); before, the job failed with "CSV Error on Line: 1".
func TestLongCSVRecordIsQuarantined(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("x", 3<<20)
	f.write("opps/a.csv", "id,stage,currency\no1,Won,EUR\no2,Won,"+long+"\no3,Lost,EUR\n")
	f.write("opps/b.csv", "id,stage\no4,Won\n")
	res := mustRun(t, f.runner(nil, oppSpec), "opps")
	if res.RowsRead != 4 || res.RowsLoaded != 3 || res.RowsQuarantined != 1 {
		t.Fatalf("run: %+v, want o1, o3, o4 loaded and o2 quarantined", res)
	}
	if got := f.str("SELECT line || ' ' || file || ' ' || left(reason, 200) || ' ' || length(raw) FROM quarantine"); got != "3 opps/a.csv unreadable record: LINE SIZE OVER MAXIMUM: Maximum line size of 2000000 bytes exceeded. Actual Size:3145735 bytes. 10000" {
		t.Errorf("quarantine: %q", got)
	}
}

// TestLineNumbersAfterMultiLineField: a quoted field spanning lines moves the line numbers of
// the records after it; the quarantine reports true lines, for rows the validation rejects and
// rows the reader rejects (issue 12, item 12), and events keep them as seq.
func TestLineNumbersAfterMultiLineField(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage,currency\n"+
		"o1,Won,\"two\nlines\"\n"+ // lines 2-3
		"o2,Bad,EUR\n"+ // 4
		"o3,Won,\"a\",\"ragged\"\n"+ // 5
		"o4,Won,\"three\n\nlines\"\n"+ // 6-8
		"o5,Bad,\"\"\"quoted\"\"\"\n") // 9
	res := mustRun(t, f.runner(nil, oppSpec), "opps")
	if res.RowsLoaded != 2 || res.RowsQuarantined != 3 {
		t.Fatalf("run: %+v", res)
	}
	if got := f.str("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM quarantine"); got != "4,5,9" {
		t.Errorf("quarantined lines %s, want 4,5,9", got)
	}
	if got := f.str("SELECT currency FROM opportunities WHERE opportunity_id = 'o4'"); got != "three\n\nlines" {
		t.Errorf("o4 currency %q", got)
	}
	f.write("events/a.csv", "case,act,at\nc1,\"Lead\nCreated\",2026-01-01\nc1,Call,2026-01-02\n")
	mustRun(t, f.runner(nil, eventSpec), "events")
	if got := f.str("SELECT string_agg(seq::VARCHAR, ',' ORDER BY seq) FROM stage_events"); got != "2,4" {
		t.Errorf("event seq %s, want the lines 2,4", got)
	}
}

// TestCSVHeaderAsDuckDBReadsIt: the columns read from a CSV header (DuckDB's sniffer no longer
// reads it) are named as the sniffer named them: byte order mark dropped, names trimmed, an empty
// name columnN, a repeated one name_1; a multi-byte delimiter splits the header too.
func TestCSVHeaderAsDuckDBReadsIt(t *testing.T) {
	f := newFixture(t)
	p := f.write("a.csv", "\xef\xbb\xbfid , stage,,id,\"q\"\"x\"\r\no1,Won,a,b,c\r\n")
	cols, err := csvColumns(p, ",", '"', true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cols, "|"); got != `id|stage|column2|id_1|q"x` {
		t.Errorf("columns %s", got)
	}
	f.write("opps/a.csv", "\xef\xbb\xbfid||stage\no1||Won\n")
	spec := oppSpec
	spec.CSV.Delimiter = "||"
	if res := mustRun(t, f.runner(nil, spec), "opps"); res.RowsLoaded != 1 {
		t.Fatalf("run: %+v", res)
	}
	if got := f.str("SELECT opportunity_id || ' ' || status FROM opportunities"); got != "o1 won" {
		t.Errorf("row %q", got)
	}
}

// TestLineNumbersAfterBlankLine: blank lines are not records, but they are lines (DuckDB
// skips them when it numbers good records and counts them for rejected ones).
func TestLineNumbersAfterBlankLine(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n\no2,Bad\n\no3,Won,x\no4,Bad\n")
	res := mustRun(t, f.runner(nil, oppSpec), "opps")
	if res.RowsLoaded != 1 || res.RowsQuarantined != 3 {
		t.Fatalf("run: %+v", res)
	}
	if got := f.str("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM quarantine"); got != "4,6,7" {
		t.Errorf("quarantined lines %s, want 4,6,7", got)
	}
	// Both at once: blank lines, a quoted field over two lines, a ragged record.
	f.write("opps/a.csv", "id,stage,currency\n\no1,Won,\"a\nb\"\n\no2,Bad,EUR\no3,Won,x,y\no4,Bad,EUR\n")
	mustRun(t, f.runner(nil, oppSpec), "opps")
	if got := f.str("SELECT string_agg(line::VARCHAR, ',' ORDER BY line) FROM quarantine WHERE run_id = 2"); got != "6,7,8" {
		t.Errorf("quarantined lines %s, want 6,7,8", got)
	}
}
