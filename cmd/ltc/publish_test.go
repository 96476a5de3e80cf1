package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

// TestSnapshotAtStartWhenStale: the snapshot folder holds a snapshot of data version 0, and the
// warehouse was loaded since (version 3) while no server ran; starting the publisher must publish
// version 3, not keep serving replicas and backups the old one.
func TestSnapshotAtStartWhenStale(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	snaps := filepath.Join(dir, "snapshots")
	db, err := schema.Open(ctx, filepath.Join(dir, "ltc.duckdb"), schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := schema.Snapshot(ctx, db, snaps); err != nil {
		t.Fatal(err)
	}
	if v, ok := snapshotVersion(snaps); !ok || v != 0 {
		t.Fatalf("first snapshot at version %d (%v), want 0", v, ok)
	}
	if _, err := db.Write.ExecContext(ctx, "UPDATE data_version SET version = 3"); err != nil {
		t.Fatal(err)
	}
	db.SetVersion(3)

	ctx, cancel := context.WithCancel(ctx)
	wait := newSnapshotPublisher(db, snaps, slog.New(slog.DiscardHandler)).run(ctx)
	defer wait()
	defer cancel()
	waitPublished(t, snaps, 3)
}
