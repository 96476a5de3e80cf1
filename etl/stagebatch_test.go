package etl

import (
	"testing"
)

// TestFilesReadTogetherKeepTheirLines: a job's CSV files that share a header are read in one
// read_csv; each row keeps its own file and line in the quarantine and as seq, a repeated key is
// judged within its file, a file whose lines need renumbering (a quoted newline, a ragged record)
// is read again alone, a header-only file loads nothing and a file with another header is read
// on its own.
func TestFilesReadTogetherKeepTheirLines(t *testing.T) {
	f := newFixture(t)
	f.write("events/1.csv", "case,act,at\n"+
		"c1,Lead Created,2026-01-01 09:00\n"+ // line 2: seq 2
		"c1,Call,not a time\n"+ // line 3: quarantined
		"c1,Call,2026-01-02 10:00\n") // line 4: seq 4
	f.write("events/2.csv", "case,act,at\n"+
		"c2,\"Lead\nCreated\",2026-01-03 11:00\n"+ // lines 2-3: seq 2
		"c2,Call,2026-01-04 12:00,extra\n"+ // line 4: ragged, quarantined by the reader
		",Call,2026-01-05 12:00\n"+ // line 5: no case, quarantined
		"c2,Call,2026-01-06 12:00\n") // line 6: seq 6
	f.write("events/3.csv", "case,act,at\n")
	f.write("events/4.csv", "case,act,at\n"+
		"c1,Lead Created,2026-01-01 09:00\n"+ // line 2: same event as 1.csv line 2, a duplicate
		"c3,Call,2026-01-07 08:00\n"+ // line 3: seq 3
		"c3,Call,2026-01-07 08:00\n") // line 4: repeats line 3 of its own file, a duplicate
	f.write("events/5.csv", "act,case,at\nCall,c4,2026-01-08 07:00\n,c4,2026-01-09 07:00\n") // another header: line 3 quarantined
	res := mustRun(t, f.runner(nil, eventSpec), "events")
	// Read: 3 + 4 + 0 + 3 + 2 = 12; quarantined: 1 + 2 + 1 = 4; duplicates: 2; loaded: 6.
	if res.RowsRead != 12 || res.RowsQuarantined != 4 || res.RowsDuplicate != 2 || res.RowsLoaded != 6 {
		t.Fatalf("run: %+v", res)
	}
	if got := f.str("SELECT string_agg(file || ':' || line, ' ' ORDER BY file, line) FROM quarantine"); got != "events/1.csv:3 events/2.csv:4 events/2.csv:5 events/5.csv:3" {
		t.Errorf("quarantined %s", got)
	}
	// The raw record of a row read with other files: its source columns, as a file read alone gives them.
	if got := f.str("SELECT raw FROM quarantine WHERE file = 'events/1.csv'"); got != `{"_line":3,"case":"c1","act":"Call","at":"not a time"}` {
		t.Errorf("raw %s", got)
	}
	if got := f.str("SELECT string_agg(_file || ':' || seq, ' ' ORDER BY _file, seq) FROM stage_events"); got != "events/1.csv:2 events/1.csv:4 events/2.csv:2 events/2.csv:6 events/4.csv:3 events/5.csv:2" {
		t.Errorf("events %s", got)
	}
	if got := f.str("SELECT string_agg(path || ':' || rows, ' ' ORDER BY path) FROM etl_files"); got != "events/1.csv:3 events/2.csv:4 events/3.csv:0 events/4.csv:3 events/5.csv:2" {
		t.Errorf("manifest %s", got)
	}
}
