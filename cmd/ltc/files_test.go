package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
)

// TestWarehouseFilesArePrivate runs `ltc etl run` and `ltc backup` as the binary and publishes a
// snapshot: the warehouse, the backup and the snapshot are readable by their owner only (0600),
// also when the warehouse file was created 0644 before.
func TestWarehouseFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if _, err := synth.Generate(context.Background(), dir, synth.Options{Size: "small", Seed: 1, Now: demoNow}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ltc.yaml")
	ltc := func(args ...string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "LTC_TEST_AS_BINARY=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ltc %v: %v\n%s", args, err, out)
		}
	}
	ltc("etl", "run", "--config", cfg)
	backupFile := filepath.Join(dir, "backup.duckdb")
	ltc("backup", "--config", cfg, "--out", backupFile)

	warehouse := filepath.Join(dir, "ltc.duckdb")
	if err := os.Chmod(warehouse, 0o644); err != nil { // as an older ltc left it
		t.Fatal(err)
	}
	db, err := schema.Open(context.Background(), warehouse, schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := schema.Snapshot(context.Background(), db, filepath.Join(dir, "snapshots"))
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{warehouse, backupFile, snap} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), st.Mode().Perm())
		}
	}
}
