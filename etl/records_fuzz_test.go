package etl

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// fuzzLoad runs spec over content (written to the job's one file) through the real runner on an
// in-memory warehouse shared by one fuzz worker, and checks the invariants of every run: no
// panic; a failure only where a whole file is unreadable; rows_read = loaded + quarantined +
// duplicate; and the target and the quarantine hold exactly the rows the run reports.
type fuzzLoader struct {
	db  *schema.DB
	dir string
}

func newFuzzLoader(f *testing.F) *fuzzLoader {
	db, err := schema.Open(context.Background(), "", schema.Options{Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	return &fuzzLoader{db: db, dir: f.TempDir()}
}

// fileErrors are the whole-file failures bad bytes may legitimately cause.
var fileErrors = []string{"read csv:", "read jsonl:", "missing column", "source file changed"}

func (l *fuzzLoader) load(t *testing.T, spec source.Spec, name string, content []byte) RunResult {
	t.Helper()
	path := filepath.Join(l.dir, name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Glob = path
	r := NewRunner(Options{DB: l.db, Model: schema.StandardModel(), Sources: []source.Spec{spec}})
	res, err := r.Run(context.Background(), spec.Name)
	if err != nil {
		ok := false
		for _, s := range fileErrors {
			ok = ok || strings.Contains(err.Error(), s)
		}
		if !ok {
			t.Fatalf("run failed with an error bad data must not cause: %v\ninput %q", err, content)
		}
		return res
	}
	if res.RowsRead != res.RowsLoaded+res.RowsQuarantined+res.RowsDuplicate {
		t.Fatalf("accounting: %+v\ninput %q", res, content)
	}
	if res.Status != StatusSuccess {
		return res
	}
	if res.RowsRead == 0 {
		// An empty or header-only file keeps the rows an earlier version loaded (the default
		// on_missing rule, TestMissingOrEmptyFileRule): the table is not the run's.
		return res
	}
	var inTable, inQuarantine int64
	table := schema.CanonicalTargets()[spec.Target].Table
	if err := l.db.Read.QueryRow("SELECT count(*) FROM "+table+" WHERE _file = $1", path).Scan(&inTable); err != nil {
		t.Fatal(err)
	}
	if err := l.db.Read.QueryRow("SELECT count(*) FROM quarantine WHERE run_id = $1", res.RunID).Scan(&inQuarantine); err != nil {
		t.Fatal(err)
	}
	if inTable != res.RowsLoaded || inQuarantine != res.RowsQuarantined {
		t.Fatalf("table holds %d rows (run loaded %d), quarantine %d (run quarantined %d)\ninput %q",
			inTable, res.RowsLoaded, inQuarantine, res.RowsQuarantined, content)
	}
	return res
}

// FuzzCSVRecords feeds arbitrary record bytes under a fixed header through the CSV reader,
// validation and merge.
func FuzzCSVRecords(f *testing.F) {
	for _, s := range []string{
		"o1,Won,100,2025-01-01\n",
		"o1,Won,100,2025-01-01\no1,Won,100,2025-01-01\no1,Lost,0,2025-01-01\n",
		"o2,Won,-5,31/12/2025\n,Won,1,\n",
		"o5,Won\no6,Won,1,2025-01-01,extra\n",
		"o7,Won,\xff\xfe,2025-01-01\n",
		"\"o8\",\"Op\"\"en\",\"1\n2\",2025-01-01T10:00:00+02:00\n",
		"o9,Open,1e400,2025-01-01 10:00:00.5-0130\r\n",
		"\n\n\n",
	} {
		f.Add([]byte(s))
	}
	l := newFuzzLoader(f)
	f.Fuzz(func(t *testing.T, records []byte) {
		l.load(t, oppSpec, "opps.csv", append([]byte("id,stage,amount,created_at\n"), records...))
	})
}

// FuzzJSONRecords feeds arbitrary JSON Lines through the JSON reader into the event log, whose
// gate check and keyless duplicate rule differ from the keyed tables.
func FuzzJSONRecords(f *testing.F) {
	for _, s := range []string{
		`{"case":"c1","act":"Lead Created","at":"2025-03-01 23:30","who":"ann"}` + "\n",
		`{"case":"c1","act":"Contract Review","at":"2025-03-03 09:00","outcome":"pass"}` + "\n" +
			`{"case":"c1","act":"Contract Review","at":"2025-03-03 09:00","outcome":"pass"}` + "\n",
		`{"case":"c2","act":"Contract Review","at":"2025-03-04"}` + "\n{not json\n[1,2]\n\"s\"\n",
		`{"case":1,"act":{"x":[]},"at":20250101,"template":"maybe"}` + "\n",
		`{"case":"c3","case":"c4","act":"Quote Sent","at":"2025-03-01T00:00:00Z","template":true}`,
		"\xff\xfe{}\n\n",
	} {
		f.Add([]byte(s))
	}
	spec := source.Spec{Name: "events", Format: "jsonl", Target: "stage_events",
		Columns: map[string]source.Column{"case_id": {From: "case"}, "activity": {From: "act"}, "occurred_at": {From: "at"},
			"actor_id": {From: "who"}, "template_used": {From: "template"}}}
	l := newFuzzLoader(f)
	f.Fuzz(func(t *testing.T, records []byte) {
		l.load(t, spec, "events.jsonl", records)
	})
}

var (
	fuzzFormats = []string{"", "%Y-%m-%d %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S%z", "%d.%m.%Y %H:%M"}
	fuzzZones   = []string{"", "UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin"}
)

// FuzzValueMappingAndTimestamps maps an arbitrary source value through an arbitrary value map
// and parses an arbitrary timestamp under each configured format and zone; a mapped value that
// is not one of the field's values, or a timestamp that does not parse, is quarantined — the run
// never fails.
func FuzzValueMappingAndTimestamps(f *testing.F) {
	f.Add("Won", "won", "Won", "2025-01-01 10:00", uint8(0), uint8(0))
	f.Add(" Gewonnen ", "won", "Gewonnen", "01/02/2025", uint8(2), uint8(2))
	f.Add("x", "", "x", "2025-03-09 02:30", uint8(1), uint8(2))
	f.Add("Lost", "'; DROP TABLE opportunities; --", "Lost", "1700000000", uint8(4), uint8(3))
	f.Add("Open", "open", "open", "2025-01-01T10:00:00+0200", uint8(3), uint8(4))
	f.Add("", "won", "", "9999-99-99", uint8(0), uint8(1))
	l := newFuzzLoader(f)
	f.Fuzz(func(t *testing.T, from, to, value, ts string, format, zone uint8) {
		if !utf8.ValidString(from) || !utf8.ValidString(to) {
			// The map comes from the YAML config, which is UTF-8 (testdata/fuzz/…/effce57a87e6ccec:
			// DuckDB cannot bind an invalid UTF-8 parameter).
			t.Skip("value map from a config is always UTF-8")
		}
		spec := source.Spec{Name: "opps", Format: "csv", Target: "opportunities",
			TimestampFormat: fuzzFormats[int(format)%len(fuzzFormats)], Timezone: fuzzZones[int(zone)%len(fuzzZones)],
			Columns: map[string]source.Column{
				"opportunity_id": {From: "id"},
				"status":         {From: "stage", Map: map[string]string{from: to}},
			}}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"id", "stage", "created_at"})
		w.Write([]string{"o1", value, ts})
		w.Write([]string{"o2", "Won", ts})
		w.Flush()
		res := l.load(t, spec, "map.csv", buf.Bytes())
		if res.Status == StatusSuccess && res.RowsRead != 2 && !strings.ContainsAny(value+ts, "\r\n\x00") {
			t.Fatalf("two records read as %d: %+v (value %q, ts %q)", res.RowsRead, res, value, ts)
		}
	})
}
