package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// snapshotKeep is how many older snapshots a publishing writer keeps besides the current one, so
// replicas still draining requests on the previous snapshot keep their file.
const snapshotKeep = 2

// snapshotPublisher publishes a read-only snapshot of the warehouse into a folder after ETL
// commits (config database.snapshot_dir), for read replicas (`ltc serve --read-only --db DIR`).
// Commits only signal it; it copies on its own goroutine, coalescing commits that land while a
// copy runs, so the ETL never waits for a snapshot (a snapshot waits for the writer connection).
type snapshotPublisher struct {
	db     *schema.DB
	dir    string
	logger *slog.Logger
	kick   chan struct{}
}

// newSnapshotPublisher returns a publisher into dir, or nil when dir is "" (no snapshots).
func newSnapshotPublisher(db *schema.DB, dir string, logger *slog.Logger) *snapshotPublisher {
	if dir == "" {
		return nil
	}
	return &snapshotPublisher{db: db, dir: dir, logger: logger, kick: make(chan struct{}, 1)}
}

// Trigger asks for a snapshot of the state just committed; it never blocks. Safe on nil.
func (p *snapshotPublisher) Trigger() {
	if p == nil {
		return
	}
	select {
	case p.kick <- struct{}{}:
	default: // one is already pending: it will copy this commit too
	}
}

// run publishes a snapshot when the folder has none at the warehouse's data version (none yet, or
// an older one: the warehouse was loaded or restored while no server ran), then one after each
// Trigger, until ctx is done. The returned function waits for it to stop (call it after cancelling ctx, before closing
// the warehouse). Safe on nil.
func (p *snapshotPublisher) run(ctx context.Context) (wait func()) {
	done := make(chan struct{})
	if p == nil {
		close(done)
		return func() {}
	}
	go func() {
		defer close(done)
		if v, ok := snapshotVersion(p.dir); !ok || v < p.db.Version() {
			p.Trigger()
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.kick:
				p.publish(ctx)
			}
		}
	}()
	return func() { <-done }
}

// publish writes and publishes one snapshot and prunes old ones; failures are logged (the next
// commit tries again, and replicas keep serving the previous snapshot meanwhile).
func (p *snapshotPublisher) publish(ctx context.Context) {
	start := time.Now()
	path, err := schema.Snapshot(ctx, p.db, p.dir)
	if err != nil {
		if ctx.Err() == nil {
			p.logger.Error("snapshot failed", "dir", p.dir, "err", err)
		}
		return
	}
	if err := schema.PruneSnapshots(p.dir, snapshotKeep); err != nil {
		p.logger.Warn("pruning old snapshots", "dir", p.dir, "err", err)
	}
	p.logger.Info("snapshot published", "path", path, "duration_seconds", time.Since(start).Seconds())
}

// snapshotVersion returns the data version of the current snapshot in dir, read from its name
// (ltc-v<version>-<time>.duckdb, as schema.Snapshot writes it); ok is false when there is none or
// the name does not say.
func snapshotVersion(dir string) (v int64, ok bool) {
	cur, err := schema.CurrentSnapshot(dir)
	if err != nil {
		return 0, false
	}
	rest, found := strings.CutPrefix(filepath.Base(cur), "ltc-v")
	if !found {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "-")
	v, err = strconv.ParseInt(num, 10, 64)
	return v, err == nil
}
