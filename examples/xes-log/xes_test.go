// Package xeslog_test loads examples/xes-log/ltc.yaml: ltc check is clean and the log loads.
package xeslog_test

import (
	"compress/gzip"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

var update = flag.Bool("update", false, "regenerate log.xes.gz from the synthetic demo")

// exampleEvents is how many events the example log holds (at least: whole traces).
const exampleEvents = 1500

func TestXESExample(t *testing.T) {
	if *update {
		writeLog(t)
	}
	w := testwarehouse.Example(t, "ltc.yaml")
	res, db := w.Results[0], w.DB
	// Every event the generator wrote loads: none unmapped, none quarantined.
	var events, unstaged, cases int64
	if err := db.Read.QueryRow(`SELECT count(*), count(*) FILTER (stage IS NULL AND activity IN ('Lead Created', 'Contract Signed')),
		count(DISTINCT case_id) FROM stage_events`).Scan(&events, &unstaged, &cases); err != nil {
		t.Fatal(err)
	}
	if res.RowsQuarantined != 0 || res.RowsLoaded < exampleEvents || events != res.RowsLoaded || unstaged != 0 || cases < 50 {
		t.Errorf("run %+v: %d events of %d cases (%d core events without a stage)", res, events, cases, unstaged)
	}
}

// writeLog writes log.xes.gz from the small demo's events (seed 7), timestamps at +01:00.
func writeLog(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), dir, synth.Options{Size: "small", Seed: 7,
		Now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "events", "*.csv"))
	plain := filepath.Join(dir, "log.xes")
	out, err := os.Create(plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.WriteXES(out, files, synth.XESOptions{MaxEvents: exampleEvents, Zone: time.FixedZone("", 3600)}); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := gzipFile(plain, "log.xes.gz"); err != nil {
		t.Fatal(err)
	}
}

// gzipFile writes src gzip-compressed to dst.
func gzipFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
