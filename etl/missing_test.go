package etl

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
)

// TestMissingOrEmptyFileRule: a loaded file that is deleted, truncated to 0 bytes or left with
// no record (a CSV header, blank JSON Lines, a Parquet file of no rows) has one effect, the same
// for every format (issue 12, item 3): by default its rows stay and the manifest records it as
// gone or empty; with on_missing: retract its rows are removed. Either way the next run is a
// no-op, and the file coming back loads again.
func TestMissingOrEmptyFileRule(t *testing.T) {
	type format struct {
		name, ext        string
		write, noRecords func(f *fixture, path string, ids ...string)
	}
	text := func(header, row string) func(f *fixture, path string, ids ...string) {
		return func(f *fixture, path string, ids ...string) {
			s := header
			for _, id := range ids {
				s += fmt.Sprintf(row, id)
			}
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	parquet := func(f *fixture, path string, ids ...string) {
		q := "COPY (SELECT 'x' AS id, 'Won' AS stage WHERE false) TO '" + path + "' (FORMAT parquet)"
		if len(ids) > 0 {
			q = "COPY (SELECT unnest($1::VARCHAR[]) AS id, 'Won' AS stage) TO '" + path + "' (FORMAT parquet)"
		}
		args := []any{}
		if len(ids) > 0 {
			args = append(args, ids)
		}
		if _, err := f.db.Write.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	formats := []format{
		{"csv", "csv", text("id,stage\n", "%s,Won\n"), text("id,stage\n", "")},
		{"jsonl", "jsonl", text("", `{"id":"%s","stage":"Won"}`+"\n"), text("\n\n", "")},
		{"parquet", "parquet", parquet, parquet},
	}
	for _, fm := range formats {
		for _, mode := range []string{"deleted", "zero bytes", "no records"} {
			for _, onMissing := range []string{"", source.Retract} {
				t.Run(fmt.Sprintf("%s/%s/%s", fm.name, mode, onMissing), func(t *testing.T) {
					f := newFixture(t)
					spec := source.Spec{Name: "opps", Format: fm.name, Glob: "opps/*." + fm.ext, Target: "opportunities",
						OnMissing: onMissing, Columns: map[string]source.Column{
							"opportunity_id": {From: "id"}, "status": {From: "stage", Map: map[string]string{"Won": "won"}}}}
					if err := os.MkdirAll(filepath.Join(f.dir, "opps"), 0o755); err != nil {
						t.Fatal(err)
					}
					a, b := filepath.Join(f.dir, "opps/a."+fm.ext), filepath.Join(f.dir, "opps/b."+fm.ext)
					fm.write(f, a, "o1", "o2")
					fm.write(f, b, "o3")
					r := f.runner(nil, spec)
					mustRun(t, r, "opps")
					switch mode {
					case "deleted":
						os.Remove(a)
					case "zero bytes":
						os.Truncate(a, 0)
					case "no records":
						fm.noRecords(f, a)
					}
					res := mustRun(t, r, "opps")
					want, state := int64(3), map[string]string{"deleted": "gone", "zero bytes": "empty", "no records": "empty"}[mode]
					if onMissing == source.Retract {
						want, state = 1, "retracted"
					}
					if res.Status != StatusSuccess || res.RowsLoaded != 0 {
						t.Errorf("run after the change: %+v", res)
					}
					if n := f.count("SELECT count(*) FROM opportunities"); n != want {
						t.Errorf("opportunities: %d, want %d", n, want)
					}
					if got := f.str("SELECT state FROM etl_files WHERE path = 'opps/a." + fm.ext + "'"); got != state {
						t.Errorf("manifest state %q, want %q", got, state)
					}
					if res := mustRun(t, r, "opps"); res.Status != StatusNoop {
						t.Errorf("next run: %+v, want a no-op", res)
					}
					fm.write(f, a, "o1", "o2")
					mustRun(t, r, "opps")
					if n := f.count("SELECT count(*) FROM opportunities"); n != 3 {
						t.Errorf("after the file came back: %d, want 3", n)
					}
					if got := f.str("SELECT state FROM etl_files WHERE path = 'opps/a." + fm.ext + "'"); got != "present" {
						t.Errorf("manifest state %q after the file came back", got)
					}
				})
			}
		}
	}
}
