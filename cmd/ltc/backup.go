package main

// Backup and restore.
//
// A DuckDB file is opened read-write by one process at a time, so while `ltc serve` holds the
// warehouse no other process can read it. `ltc backup` therefore works in two ways:
//
//   - The warehouse is free (no server running): backup opens it and writes a consistent copy
//     with schema.Snapshot (ATTACH + COPY FROM DATABASE on the writer connection, so the copy is
//     exactly one committed state).
//   - A server holds it: the serving process itself publishes snapshots with the same
//     schema.Snapshot after every ETL commit when database.snapshot_dir is set (publish.go), so
//     backup copies the current published snapshot — the last committed ETL state, made on the
//     server's writer connection. Without snapshot_dir, backup says so and stops.
//
// Either way the file is written under a temporary name in the target folder, synced, checked
// (it must open and hold a data version) and renamed into place, so a backup that exists is whole.
//
// `ltc restore` replaces the configured warehouse (or --db) with a backup while no server runs:
// it checks the backup, moves the current warehouse aside to PATH.before-restore-<time>, then
// renames a synced copy into place and opens it once to apply newer migrations.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/schema"
)

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("backup", stderr)
	wh := addWarehouseFlags(fs, "database file (overrides the config)")
	out := fs.String("out", "", "backup file to write (required; must not exist)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, *out); err != nil {
		return err
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s exists; choose a new file name", *out)
	}
	start := time.Now()
	how, err := backup(ctx, wh, *out)
	if err != nil {
		return err
	}
	v, err := checkBackup(ctx, *out)
	if err != nil {
		os.Remove(*out)
		return err
	}
	fmt.Fprintf(stdout, "backup %s written in %.2fs (%s, data version %d)\n", *out, time.Since(start).Seconds(), how, v)
	return nil
}

// backup writes a consistent copy of the warehouse to out and says how it was made.
func backup(ctx context.Context, wh warehouseFlags, out string) (string, error) {
	db, openErr := wh.open(ctx)
	if openErr == nil {
		defer db.Close()
		tmp, err := os.MkdirTemp(filepath.Dir(out), ".ltc-backup-*")
		if err != nil {
			return "", fmt.Errorf("backup: %w", err)
		}
		defer os.RemoveAll(tmp)
		snap, err := schema.Snapshot(ctx, db, tmp)
		if err != nil {
			return "", fmt.Errorf("backup: %w", err)
		}
		return "copied from the warehouse", place(snap, out)
	}
	if !isLocked(openErr) || *wh.db != "" {
		return "", fmt.Errorf("backup: %w", openErr)
	}
	// A server holds the warehouse: copy the snapshot it published after its last commit.
	cfg, err := config.Load(*wh.config)
	if err != nil {
		return "", err
	}
	if cfg.Database.SnapshotDir == "" {
		return "", fmt.Errorf("backup: the warehouse is open in another process (a running ltc serve?) and database.snapshot_dir "+
			"is not set, so there is no snapshot of it to copy: set snapshot_dir and restart the server, or stop it and back up (%w)", openErr)
	}
	snap, err := schema.CurrentSnapshot(cfg.Resolve(cfg.Database.SnapshotDir))
	if err != nil {
		return "", fmt.Errorf("backup: the warehouse is open in another process and it has published no snapshot yet: %w", err)
	}
	if err := copyFile(snap, out); err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	return "copied from the serving process's snapshot " + filepath.Base(snap), nil
}

// isLocked reports whether err is DuckDB refusing a file another process holds.
func isLocked(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Could not set lock on file")
}

// checkBackup opens a backup read-only and returns its data version.
func checkBackup(ctx context.Context, path string) (int64, error) {
	db, err := schema.Open(ctx, path, schema.Options{ReadOnly: true, Threads: 1})
	if err != nil {
		return 0, fmt.Errorf("%s is not a readable ltc warehouse: %w", path, err)
	}
	defer db.Close()
	return db.Version(), nil
}

// place moves a finished file to dst atomically (same folder family), after syncing it.
func place(src, dst string) error {
	if err := syncFile(src); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("place %s: %w", dst, err)
	}
	return nil
}

// copyFile copies src to dst through a synced temporary file in dst's folder and a rename.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if err = errors.Join(err, tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("restore", stderr)
	wh := addWarehouseFlags(fs, "database file to restore into (overrides the config)")
	from := fs.String("from", "", "backup file written by ltc backup (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, *from); err != nil {
		return err
	}
	target, _, err := wh.target()
	if err != nil {
		return err
	}
	v, err := checkBackup(ctx, *from)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	moved, err := moveAside(ctx, target)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := copyFile(*from, target); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	// Opening read-write applies migrations newer than the backup and checkpoints.
	db, err := schema.Open(ctx, target, schema.Options{Threads: 1})
	if err != nil {
		return fmt.Errorf("restore: open the restored warehouse: %w", err)
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s from %s (data version %d)\n", target, *from, v)
	if moved != "" {
		fmt.Fprintf(stdout, "the previous warehouse is kept as %s\n", moved)
	}
	return nil
}

// moveAside renames an existing warehouse (and its WAL) out of the way and returns its new name;
// it refuses while another process holds it. A warehouse that does not open (corrupt) is moved
// aside too: restoring is how one recovers from that.
func moveAside(ctx context.Context, target string) (string, error) {
	if _, err := os.Stat(target); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	db, err := schema.Open(ctx, target, schema.Options{ReadOnly: true, Threads: 1})
	if isLocked(err) {
		return "", fmt.Errorf("%s is open in another process (a running ltc serve?); stop it first: %w", target, err)
	}
	if err == nil {
		db.Close()
	}
	aside := target + ".before-restore-" + time.Now().UTC().Format("20060102T150405")
	if err := os.Rename(target, aside); err != nil {
		return "", err
	}
	if err := os.Rename(target+".wal", aside+".wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	return aside, nil
}
