package etl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// TestValueMapToEmptyStoresNull: a value map to "" (or YAML null, which decodes to "") stores
// NULL, as an empty source value does (issue 11, item 4).
func TestValueMapToEmptyStoresNull(t *testing.T) {
	f := newFixture(t)
	f.write("leads/a.csv", "id,created,conv\nl1,2026-01-01,0\nl2,2026-01-02,1\n")
	spec := source.Spec{Name: "leads", Format: "csv", Glob: "leads/*.csv", Target: "leads",
		Columns: map[string]source.Column{
			"lead_id":        {From: "id"},
			"created_at":     {From: "created"},
			"opportunity_id": {From: "conv", Map: map[string]string{"0": "", "1": "yes"}},
		}}
	mustRun(t, f.runner(nil, spec), "leads")
	if n := f.count("SELECT count(*) FROM leads WHERE opportunity_id IS NULL"); n != 1 {
		t.Errorf("leads with NULL opportunity_id: %d, want 1 (l1's \"0\" maps to \"\")", n)
	}
	if n := f.count("SELECT count(*) FROM leads WHERE opportunity_id = ''"); n != 0 {
		t.Errorf("leads with empty opportunity_id: %d, want 0", n)
	}
}

// TestTimestampsOutOfRangeAreQuarantined: a year DuckDB reads but RFC 3339 cannot write (294000)
// is quarantined with a reason, not loaded (issue 12, item 12).
func TestTimestampsOutOfRangeAreQuarantined(t *testing.T) {
	f := newFixture(t)
	f.write("leads/a.csv", "lead_id,created_at,qualified_at\nl1,2026-01-01,\nl2,294000-01-01,\nl3,2026-01-01,9999-12-31\nl4,2026-01-01,10000-01-01\n")
	spec := source.Spec{Name: "leads", Format: "csv", Glob: "leads/*.csv", Target: "leads"}
	res := mustRun(t, f.runner(nil, spec), "leads")
	if res.RowsLoaded != 2 || res.RowsQuarantined != 2 {
		t.Fatalf("run: %+v, want 2 loaded (l1, l3), 2 quarantined", res)
	}
	if got := f.str("SELECT reason FROM quarantine WHERE line = 3"); got != "created_at: '294000-01-01' is out of range (years 1 to 9999)" {
		t.Errorf("reason on line 3: %q", got)
	}
	if got := f.str("SELECT reason FROM quarantine WHERE line = 5"); got != "qualified_at: '10000-01-01' is out of range (years 1 to 9999)" {
		t.Errorf("reason on line 5: %q", got)
	}
}

// TestSessionZoneTimestamps: a source in the session's zone (UTC, read with a plain cast) stores
// the timestamps a source in another spelling of UTC (Etc/UTC, read through timezone()) stores,
// offsets and unparsable values included.
func TestSessionZoneTimestamps(t *testing.T) {
	f := newFixture(t)
	csv := "lead_id,created_at\nl1,2026-01-01 08:30:00\nl2,2026-03-29T02:30:00\nl3,2026-01-01 00:00:00+02\nl4,2026-01-01\nl5,2026-13-01\n"
	f.write("utc/a.csv", csv)
	f.write("etc/a.csv", strings.ReplaceAll(csv, "\nl", "\ne"))
	utc := source.Spec{Name: "utc", Format: "csv", Glob: "utc/*.csv", Target: "leads", Timezone: "UTC"}
	etc := source.Spec{Name: "etc", Format: "csv", Glob: "etc/*.csv", Target: "leads", Timezone: "Etc/UTC"}
	r := f.runner(nil, utc, etc)
	mustRun(t, r, "utc")
	mustRun(t, r, "etc")
	// Loaded: 4 of 5 in each (line 6, month 13, is quarantined), and the same timestamps.
	if n := f.count("SELECT count(*) FROM leads"); n != 8 {
		t.Fatalf("leads: %d, want 8 (4 per source)", n)
	}
	if n := f.count(`SELECT count(*) FROM leads u JOIN leads e ON e.lead_id = replace(u.lead_id, 'l', 'e')
		WHERE u.lead_id LIKE 'l%' AND u.created_at = e.created_at`); n != 4 {
		t.Errorf("leads with the same created_at in both sources: %d, want 4", n)
	}
}

// TestJSONFieldsOneParse: JSON Lines fields are read in one extraction per record; a key two
// fields map reads the same value into both, a key a record lacks is missing (a required field's
// row is quarantined), a number reads as its text.
func TestJSONFieldsOneParse(t *testing.T) {
	f := newFixture(t)
	f.write("leads/a.jsonl", `{"id":"l1","created":"2026-01-01 10:00:00","bu":7}
{"id":"l2"}
{"id":"l3","created":"2026-01-02","bu":"North"}
`)
	spec := source.Spec{Name: "leads", Format: "jsonl", Glob: "leads/*.jsonl", Target: "leads",
		Columns: map[string]source.Column{
			"lead_id":        {From: "id"},
			"opportunity_id": {From: "id"},
			"created_at":     {From: "created"},
			"business_unit":  {From: "bu"},
		}}
	res := mustRun(t, f.runner(nil, spec), "leads")
	if res.RowsLoaded != 2 || res.RowsQuarantined != 1 {
		t.Fatalf("run: %+v, want 2 loaded (l1, l3), 1 quarantined (l2: no created)", res)
	}
	if got := f.str("SELECT reason FROM quarantine WHERE line = 2"); got != "created_at: required value missing" {
		t.Errorf("reason on line 2: %q", got)
	}
	if got := f.str("SELECT opportunity_id || ' ' || business_unit || ' ' || created_at::VARCHAR FROM leads WHERE lead_id = 'l1'"); got != "l1 7 2026-01-01 10:00:00" {
		t.Errorf("l1: %q, want \"l1 7 2026-01-01 10:00:00\"", got)
	}
}

// TestParquetQuarantineRaw: a Parquet file is read through a view over it; its bad rows are
// quarantined with their row number and their staged columns (_line too) as JSON, the good ones load.
func TestParquetQuarantineRaw(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.dir, "c.parquet")
	// Rows 1..4; row 3 has no contract_id (required).
	if _, err := f.db.Write.Exec(`COPY (SELECT CASE WHEN i <> 3 THEN 'c' || i END AS contract_id, 'o' || i AS opportunity_id,
		TIMESTAMP '2025-01-01' + INTERVAL (i) DAY AS signed_at FROM range(1, 5) t(i)) TO '` + path + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	spec := source.Spec{Name: "contracts", Format: "parquet", Glob: "*.parquet", Target: "contracts"}
	res := mustRun(t, f.runner(nil, spec), "contracts")
	if res.RowsLoaded != 3 || res.RowsQuarantined != 1 {
		t.Fatalf("run: %+v, want 3 loaded, 1 quarantined", res)
	}
	if got := f.str("SELECT line || ' ' || raw FROM quarantine"); got != `3 {"_line":3,"contract_id":null,"opportunity_id":"o3","signed_at":"2025-01-04 00:00:00"}` {
		t.Errorf("quarantined: %q", got)
	}
}

// TestParquetTypedColumnsAsTheyAre: a Parquet column of the field's own type is read without a
// round trip through text (plainColumn) and checked like text: a negative amount and a year past
// 9999 are quarantined with the value in the reason; a zone other than the session's keeps the
// conversion.
func TestParquetTypedColumnsAsTheyAre(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(f.dir, "c.parquet")
	// Row 1 loads; row 2 has a negative value; row 3 is signed in year 10000.
	if _, err := f.db.Write.Exec(`COPY (SELECT 'c' || i AS contract_id, 'o' || i AS opportunity_id,
		CASE WHEN i = 3 THEN TIMESTAMP '10000-01-01' ELSE TIMESTAMP '2025-01-01 10:00' END AS signed_at,
		CASE WHEN i = 2 THEN -5 ELSE 100 END::DECIMAL(18,2) AS value FROM range(1, 4) t(i)) TO '` + path + `' (FORMAT parquet)`); err != nil {
		t.Fatal(err)
	}
	spec := source.Spec{Name: "contracts", Format: "parquet", Glob: "*.parquet", Target: "contracts"}
	st := &staged{columns: map[string]bool{"signed_at": true, "value": true}, types: map[string]string{"signed_at": "TIMESTAMP", "value": "DECIMAL(18,2)"}}
	for _, fl := range schema.CanonicalTargets()["contracts"].Fields {
		if want := map[string]string{"signed_at": `s."signed_at"`, "value": `s."value"`}[fl.Name]; plainColumn(&spec, fl, st) != want {
			t.Errorf("%s: plain column %q, want %q", fl.Name, plainColumn(&spec, fl, st), want)
		}
	}
	res := mustRun(t, f.runner(nil, spec), "contracts")
	if res.RowsLoaded != 1 || res.RowsQuarantined != 2 {
		t.Fatalf("run: %+v, want 1 loaded, 2 quarantined", res)
	}
	if got := f.str("SELECT string_agg(line || ' ' || reason, '; ' ORDER BY line) FROM quarantine"); got != "2 value: negative amount -5.00; 3 signed_at: '10000-01-01 00:00:00' is out of range (years 1 to 9999)" {
		t.Errorf("quarantined: %q", got)
	}
	if got := f.str("SELECT signed_at::VARCHAR || ' ' || value FROM contracts"); got != "2025-01-01 10:00:00 100.00" {
		t.Errorf("loaded: %q", got)
	}
	// Read in another zone, the timestamp is converted (10:00 in Berlin is 09:00 UTC).
	spec.Timezone = "Europe/Berlin"
	if c := plainColumn(&spec, schema.Field{Name: "signed_at", Type: schema.Timestamp}, st); c != "" {
		t.Errorf("signed_at in Europe/Berlin: plain column %q, want the conversion", c)
	}
}
