package etl

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/etl/synth"
)

// TestSynthXESMatchesItsCSV writes part of the small demo's event log as XES (timestamps at
// +01:00) and loads it after the CSV files it came from: every XES event is one of the CSV's
// (same identity: case, activity, time in UTC, actor, role, outcome, template), so all are
// duplicates and none loads.
func TestSynthXESMatchesItsCSV(t *testing.T) {
	f := newFixture(t)
	if _, err := synth.Generate(context.Background(), f.dir, synth.Options{Size: "small", Seed: 5, Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(f.dir, "events", "*.csv"))
	out, err := os.Create(filepath.Join(f.dir, "log.xes"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := synth.WriteXES(out, files, synth.XESOptions{MaxEvents: 5000, Zone: time.FixedZone("", 3600)})
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	r := f.runner(nil,
		source.Spec{Name: "csv", Format: "csv", Glob: "events/*.csv", Target: "stage_events"},
		source.Spec{Name: "xes", Format: source.FormatXES, Glob: "log.xes", Target: "stage_events"})
	mustRun(t, r, "csv")
	res := mustRun(t, r, "xes")
	if n < 5000 || res.RowsRead != int64(n) || res.RowsDuplicate != int64(n) || res.RowsLoaded != 0 {
		t.Errorf("%d events written; xes run %+v: want every one a duplicate of the CSV's", n, res)
	}
}
