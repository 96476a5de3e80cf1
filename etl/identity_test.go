package etl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
)

// eventSpec reads events/*.csv (case,act,at) into stage_events.
var eventSpec = source.Spec{Name: "events", Format: "csv", Glob: "events/*.csv", Target: "stage_events",
	Columns: map[string]source.Column{"case_id": {From: "case"}, "activity": {From: "act"}, "occurred_at": {From: "at"}}}

const eventsJan = "case,act,at\nc1,Lead Created,2026-01-01 09:00\nc1,Customer Lunch,2026-01-02 10:00\nc2,Lead Created,2026-01-03 11:00\n"

// TestMovedFolderLoadsNothingTwice: files are known by their path relative to the config
// folder, so moving the whole folder and rerunning loads nothing (issue 12, item 2).
func TestMovedFolderLoadsNothingTwice(t *testing.T) {
	f := newFixture(t)
	f.write("events/2026-01.csv", eventsJan)
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\n")
	r := f.runner(nil, eventSpec, oppSpec)
	mustRun(t, r, "events")
	mustRun(t, r, "opps")

	moved := filepath.Join(t.TempDir(), "deployment")
	if err := os.Rename(f.dir, moved); err != nil {
		t.Fatal(err)
	}
	f.dir = moved
	r = f.runner(nil, eventSpec, oppSpec)
	for _, job := range []string{"events", "opps"} {
		if res := mustRun(t, r, job); res.Status != StatusNoop || res.RowsRead != 0 {
			t.Errorf("%s after the move: %+v, want a no-op", job, res)
		}
	}
	if n := f.count("SELECT count(*) FROM stage_events"); n != 3 {
		t.Errorf("events after the move: %d, want 3", n)
	}
	if got := f.str("SELECT string_agg(DISTINCT _file, ',' ORDER BY _file) FROM stage_events"); got != "events/2026-01.csv" {
		t.Errorf("_file %q, want the relative name", got)
	}
}

// TestCopiedEventFileIsAllDuplicates: an event file re-exported under another name (the old one
// still there) loads nothing again: each event is known by its identity, and every row is
// counted as a duplicate (issue 12, item 2).
func TestCopiedEventFileIsAllDuplicates(t *testing.T) {
	f := newFixture(t)
	f.write("events/2026-01.csv", eventsJan)
	r := f.runner(nil, eventSpec)
	mustRun(t, r, "events")
	// The copy has the rows in another order and one more event.
	f.write("events/export-copy.csv", "case,act,at\nc2,Lead Created,2026-01-03 11:00\nc1,Lead Created,2026-01-01 09:00\nc1,Customer Lunch,2026-01-02 10:00\n")
	res := mustRun(t, r, "events")
	if res.RowsRead != 3 || res.RowsDuplicate != 3 || res.RowsLoaded != 0 {
		t.Fatalf("copy: %+v, want 3 read, 3 duplicate", res)
	}
	if n := f.count("SELECT count(*) FROM stage_events"); n != 3 {
		t.Errorf("events: %d, want 3", n)
	}
	f.write("events/export-copy.csv", "case,act,at\nc2,Lead Created,2026-01-03 11:00\nc3,Lead Created,2026-01-04 11:00\n")
	res = mustRun(t, r, "events")
	if res.RowsRead != 2 || res.RowsDuplicate != 1 || res.RowsLoaded != 1 {
		t.Fatalf("changed copy: %+v, want 1 loaded, 1 duplicate", res)
	}
	if n := f.count("SELECT count(*) FROM stage_events"); n != 4 {
		t.Errorf("events: %d, want 4", n)
	}
}

// TestMappedEventIDIsTheIdentity: with an event_id mapped, the same id in two files with the
// same values is a duplicate; with other values the later file wins and the run counts a conflict.
func TestMappedEventIDIsTheIdentity(t *testing.T) {
	f := newFixture(t)
	spec := eventSpec
	spec.Columns = map[string]source.Column{"event_id": {From: "id"}, "case_id": {From: "case"}, "activity": {From: "act"}, "occurred_at": {From: "at"}}
	f.write("events/a.csv", "id,case,act,at\ne1,c1,Lead Created,2026-01-01 09:00\ne2,c1,Customer Lunch,2026-01-02 10:00\n")
	r := f.runner(nil, spec)
	mustRun(t, r, "events")
	f.write("events/b.csv", "id,case,act,at\ne1,c1,Lead Created,2026-01-01 09:00\ne2,c1,Customer Lunch,2026-01-02 12:00\n")
	res := mustRun(t, r, "events")
	if res.RowsDuplicate != 1 || res.RowsLoaded != 1 || res.RowsConflict != 1 {
		t.Fatalf("b.csv: %+v, want 1 duplicate, 1 loaded (a conflict)", res)
	}
	if got := f.str("SELECT strftime(occurred_at, '%H:%M') || ' ' || _file FROM stage_events WHERE event_id = 'e2'"); got != "12:00 events/b.csv" {
		t.Errorf("e2: %q, want the later file's value", got)
	}
	if n := f.count("SELECT count(*) FROM stage_events"); n != 2 {
		t.Errorf("events: %d, want 2", n)
	}
}

// TestSameKeyInTwoFiles: the rule for one key in two files (issue 12, item 12). Same values:
// the later row is a duplicate and the key stays with its file. Other values: the later file
// wins, and the run counts the conflict (etl_runs.rows_conflict) and logs it.
func TestSameKeyInTwoFiles(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\n")
	r := f.runner(nil, oppSpec)
	mustRun(t, r, "opps")
	f.write("opps/b.csv", "id,stage\no1,Won\no2,Open\no3,Open\n")
	res := mustRun(t, r, "opps")
	if res.RowsRead != 3 || res.RowsDuplicate != 1 || res.RowsLoaded != 2 || res.RowsConflict != 1 {
		t.Fatalf("b.csv: %+v, want o1 duplicate, o2 and o3 loaded, o2 a conflict", res)
	}
	if got := f.str("SELECT string_agg(opportunity_id || ':' || status || ':' || _file, ' ' ORDER BY opportunity_id) FROM opportunities"); got != "o1:won:opps/a.csv o2:open:opps/b.csv o3:open:opps/b.csv" {
		t.Errorf("opportunities: %s", got)
	}
	if n := f.count("SELECT rows_conflict FROM etl_runs WHERE run_id = $1", res.RunID); n != 1 {
		t.Errorf("etl_runs.rows_conflict %d, want 1", n)
	}
}

// TestRenamedFileAndOldManifestAreKnownByContent: a file renamed (or a manifest from before
// relative names, which holds absolute paths) is recognised by its content: nothing reloads,
// and its rows move to the new name.
func TestRenamedFileAndOldManifestAreKnownByContent(t *testing.T) {
	f := newFixture(t)
	f.write("events/2026-01.csv", eventsJan)
	old := f.runner(nil, eventSpec)
	old.opts.Root = "" // absolute names, as before
	mustRun(t, old, "events")
	if _, err := f.db.Write.Exec("UPDATE stage_events SET event_id = NULL"); err != nil { // events from before 009
		t.Fatal(err)
	}
	r := f.runner(nil, eventSpec)
	if res := mustRun(t, r, "events"); res.RowsRead != 0 || res.Status != StatusSuccess {
		t.Fatalf("absolute → relative: %+v, want nothing read", res)
	}
	if err := os.Rename(filepath.Join(f.dir, "events/2026-01.csv"), filepath.Join(f.dir, "events/january.csv")); err != nil {
		t.Fatal(err)
	}
	if res := mustRun(t, r, "events"); res.RowsRead != 0 {
		t.Fatalf("rename: %+v, want nothing read", res)
	}
	if got := f.str("SELECT string_agg(DISTINCT _file, ',') FROM stage_events"); got != "events/january.csv" {
		t.Errorf("_file %q", got)
	}
	if got := f.str("SELECT string_agg(path || ':' || state, ',') FROM etl_files"); got != "events/january.csv:present" {
		t.Errorf("manifest %q", got)
	}
	// The old events got their identity: a copy is all duplicates.
	f.write("events/copy.csv", eventsJan)
	if res := mustRun(t, r, "events"); res.RowsDuplicate != 3 {
		t.Fatalf("copy: %+v, want 3 duplicates", res)
	}
}

// TestSymlinkOutsideConfigFolderIsRefused: a glob match that is a symbolic link to a file
// outside the config folder fails the run with a clear error (issue 12, item 12); a link
// inside the folder is read.
func TestSymlinkOutsideConfigFolderIsRefused(t *testing.T) {
	f := newFixture(t)
	outside := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(outside, []byte("id,stage\nx,Won\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	f.write("archive/b.csv", "id,stage\no2,Won\n")
	if err := os.Symlink(filepath.Join(f.dir, "archive/b.csv"), filepath.Join(f.dir, "opps/b.csv")); err != nil {
		t.Fatal(err)
	}
	r := f.runner(nil, oppSpec)
	if res := mustRun(t, r, "opps"); res.RowsLoaded != 2 {
		t.Fatalf("link inside: %+v", res)
	}
	if err := os.Symlink(outside, filepath.Join(f.dir, "opps/c.csv")); err != nil {
		t.Fatal(err)
	}
	_, err := r.Run(t.Context(), "opps")
	if err == nil || !strings.Contains(err.Error(), "opps/c.csv is a symbolic link to "+outside+", outside the config folder") {
		t.Fatalf("err = %v, want the link refused", err)
	}
	if n := f.count("SELECT count(*) FROM opportunities WHERE opportunity_id = 'x'"); n != 0 {
		t.Errorf("the linked file loaded")
	}
}

// TestSameKeyInFilesOfOneRun: the rule of TestSameKeyInTwoFiles holds among the files of one
// run, which merge together. Worked in file order: a.csv loads o1 and o2; b.csv's o1 has a's
// values (a duplicate, staying with a.csv) and its o2 others (loaded, a conflict); c.csv's o2
// differs from b's (loaded, a conflict). Read 5 = loaded 4 + duplicate 1; the table keeps
// o1 from a.csv and o2 from c.csv.
func TestSameKeyInFilesOfOneRun(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\n")
	f.write("opps/b.csv", "id,stage\no1,Won\no2,Open\n")
	f.write("opps/c.csv", "id,stage\no2,Won\n")
	res := mustRun(t, f.runner(nil, oppSpec), "opps")
	if res.RowsRead != 5 || res.RowsLoaded != 4 || res.RowsDuplicate != 1 || res.RowsConflict != 2 {
		t.Fatalf("%+v, want 5 read, 4 loaded (2 conflicts), 1 duplicate", res)
	}
	if got := f.str("SELECT string_agg(opportunity_id || ':' || status || ':' || _file, ' ' ORDER BY opportunity_id) FROM opportunities"); got != "o1:won:opps/a.csv o2:won:opps/c.csv" {
		t.Errorf("opportunities: %s", got)
	}
	if got := f.str("SELECT string_agg(path || '=' || rows, ' ' ORDER BY path) FROM etl_files"); got != "opps/a.csv=2 opps/b.csv=2 opps/c.csv=1" {
		t.Errorf("manifest: %s", got)
	}
}
