package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// benchNow is the end of the synthetic data: fixed, so the cached data and the scopes agree.
var benchNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// data is one size's generated source files (cached between runs).
type data struct {
	size    string
	dir     string // synth output with ltc.yaml
	cfg     *config.Config
	model   *schema.Model
	parquet string // the event log as one Parquet file
	cases   int
	events  int64
}

// ensureData generates the size's data under root once (and its Parquet event log), then reuses it.
func ensureData(ctx context.Context, root, size string, log *slog.Logger) (*data, error) {
	d := &data{size: size, dir: filepath.Join(root, size, "data"), parquet: filepath.Join(root, size, "events.parquet")}
	var err error
	if d.cases, err = synth.Cases(size); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(d.dir, "ltc.yaml")); err != nil {
		log.Info("generating synthetic data (once)", "size", size, "dir", d.dir)
		tmp := d.dir + ".tmp"
		os.RemoveAll(tmp)
		if _, err := synth.Generate(ctx, tmp, synth.Options{Size: size, Seed: 1, Now: benchNow}); err != nil {
			return nil, err
		}
		os.RemoveAll(d.dir)
		if err := os.Rename(tmp, d.dir); err != nil {
			return nil, err
		}
	}
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := os.Stat(d.parquet); err != nil {
		log.Info("writing the event log as Parquet (once)", "size", size)
		tmp := d.parquet + ".tmp"
		q := fmt.Sprintf("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet)", lit(d.eventGlob()), lit(tmp))
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, d.parquet); err != nil {
			return nil, err
		}
	}
	if err := db.Write.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet($1)", d.parquet).Scan(&d.events); err != nil {
		return nil, err
	}
	if d.cfg, err = config.Load(filepath.Join(d.dir, "ltc.yaml")); err != nil {
		return nil, err
	}
	if d.model, err = d.cfg.Model(); err != nil {
		return nil, err
	}
	return d, nil
}

// eventGlob is the glob of the CSV event log files.
func (d *data) eventGlob() string { return filepath.Join(d.dir, "events", "*.csv") }

// kpiOptions are the engine options of the generated config, with the clock at benchNow.
func (d *data) kpiOptions(cacheSize int) kpi.Options {
	anchor, _ := time.Parse(time.DateOnly, d.cfg.KPI.SprintAnchor)
	return kpi.Options{SprintAnchor: anchor, AdoptionFrom: d.cfg.KPI.AdoptionFrom, CacheSize: cacheSize,
		Now: func() time.Time { return benchNow }}
}

// sources returns the config's sources with absolute globs; the event log source reads eventGlob
// (a folder the suite adds new files to) in the given format.
func (d *data) sources(eventGlob, format string, withEvents, withOthers bool) []source.Spec {
	var out []source.Spec
	for _, s := range d.cfg.Sources {
		if s.Target == "stage_events" {
			if withEvents {
				s.Glob, s.Format = eventGlob, format
				out = append(out, s)
			}
			continue
		}
		if withOthers {
			s.Glob = d.cfg.Resolve(s.Glob)
			out = append(out, s)
		}
	}
	return out
}

// work is one run's scratch folder for a size (recreated each run).
type work struct {
	d      *data
	dir    string
	events string // folder of hard links to the event log files, plus incremental files
}

func newWork(d *data) (*work, error) {
	w := &work{d: d, dir: filepath.Join(filepath.Dir(d.dir), "work")}
	w.events = filepath.Join(w.dir, "events")
	if err := os.RemoveAll(w.dir); err != nil {
		return nil, err
	}
	if err := linkEvents(d, w.events); err != nil {
		return nil, err
	}
	return w, nil
}

// linkEvents fills dir with hard links to the event log files (copies across file systems): not
// symlinks, which ltc refuses when they point outside the config's folder (a server run with
// symlinked events would load none of them).
func linkEvents(d *data, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := filepath.Glob(d.eventGlob())
	if err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.Base(f))
		if err := os.Link(f, dst); err != nil {
			if err := copyFile(f, dst); err != nil {
				return fmt.Errorf("bench: linking %s: %w", f, err)
			}
		}
	}
	return nil
}

// copyDB copies a closed DuckDB file.
func copyDB(src, dst string) error {
	os.Remove(dst)
	os.Remove(dst + ".wal")
	return copyFile(src, dst)
}

// copyFile copies the file src to dst (created or truncated).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// lit escapes a string for a single-quoted SQL literal (paths of our own making).
func lit(s string) string { return strings.ReplaceAll(s, "'", "''") }
