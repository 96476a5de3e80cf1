package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/internal/testenv"
)

// mountTmpfs mounts a tmpfs of size (e.g. "16m") at a new folder and returns it with a function
// that remounts it with other options ("ro", "rw", "size=64m"). It needs root (CAP_SYS_ADMIN):
// elsewhere the test is skipped, and fails in CI (testenv).
func mountTmpfs(t *testing.T, size string) (string, func(opts string)) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir, func(opts string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount %s: %v %s", opts, err, out)
		}
	}
}

// faultWarehouse is a warehouse whose config and sources live in a normal folder and whose
// database lives in dbDir.
func faultWarehouse(t *testing.T, dbDir string) *warehouse {
	t.Helper()
	w := newWarehouse(t, t.TempDir())
	db := filepath.Join(dbDir, "ltc.duckdb")
	if err := os.WriteFile(w.cfg, []byte(`database: {path: `+db+`, threads: 2, temp_directory: `+filepath.Join(dbDir, "tmp")+`}
process: ltc-standard
sources:
  - {name: events, format: csv, glob: "events/*.csv", target: stage_events, timezone: UTC}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *warehouse) dbFile() string {
	b, _ := os.ReadFile(w.cfg)
	s := string(b)
	s = s[strings.Index(s, "path: ")+len("path: "):]
	return s[:strings.IndexAny(s, ",}")]
}

// failsCleanly runs `ltc etl run` and checks it fails with exit code 1 (not a crash or a signal),
// no panic, and an error line containing each of want.
func failsCleanly(t *testing.T, w *warehouse, what string, want ...string) string {
	t.Helper()
	out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("%s: want exit code 1, got %v\n%s", what, err, out)
	}
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") || strings.Contains(out, "INTERNAL Error") {
		t.Errorf("%s: panicked or hit an internal error:\n%s", what, out)
	}
	for _, s := range want {
		if !strings.Contains(out, s) {
			t.Errorf("%s: output lacks %q:\n%s", what, s, out)
		}
	}
	t.Logf("%s: %s", what, strings.TrimSpace(out))
	return out
}

// TestReadOnlyDataFolder: a database in a read-only folder (a read-only mount, since root ignores
// permission bits) fails with a clear error, whether the database is new or holds data; the data
// is intact once the folder is writable again.
func TestReadOnlyDataFolder(t *testing.T) {
	dbDir, remount := mountTmpfs(t, "64m")
	w := faultWarehouse(t, dbDir)
	w.writeEvents("a.csv", 2000, 10)
	remount("ro")
	failsCleanly(t, w, "new database in a read-only folder", "ltc etl: ", "Read-only file system")
	remount("rw")
	if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	committed, _ := w.inspectAt(w.dbFile())
	w.writeEvents("b.csv", 3000, 0)
	remount("ro")
	failsCleanly(t, w, "existing database in a read-only folder", "ltc etl: ", "Read-only file system")
	remount("rw")
	if got, _ := w.inspectAt(w.dbFile()); got != committed {
		t.Errorf("after the failed run: %+v, want %+v", got, committed)
	}
}

// TestFullDisk: the database's folder fills up during a large load; the run fails with a clear
// error, the warehouse reopens at its last commit once there is room, and a rerun loads the file
// with every row accounted for.
func TestFullDisk(t *testing.T) {
	dbDir, remount := mountTmpfs(t, "12m")
	w := faultWarehouse(t, dbDir)
	w.writeEvents("a.csv", 2000, 10)
	if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
		t.Fatalf("load: %v\n%s", err, out)
	}
	committed, _ := w.inspectAt(w.dbFile())
	big := w.writeEvents("big.csv", crashRows, 1000)
	failsCleanly(t, w, "disk full", "ltc etl: ", "No space left on device")
	remount("size=512m")
	got, runs := w.inspectAt(w.dbFile())
	if got != committed {
		t.Errorf("after the disk filled: %+v, want the last commit %+v", got, committed)
	}
	t.Logf("runs after the full disk: %q", runs)
	out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
	if err != nil {
		t.Fatalf("rerun with room: %v\n%s", err, out)
	}
	interrupted := 0
	if strings.Contains(out, "marked interrupted ETL runs as failed") {
		interrupted = 1
	}
	assertLoadedAt(t, w, w.dbFile(), big, crashRows+1000, interrupted)
}

// TestCorruptDatabaseFile: a database file of random bytes, one damaged in the middle, and a
// garbage WAL each give a clear error without a panic, and the damaged file is left as it was.
func TestCorruptDatabaseFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	t.Run("random bytes", func(t *testing.T) {
		w := newWarehouse(t, t.TempDir())
		w.writeEvents("a.csv", 100, 0)
		junk := random(1 << 20)
		os.WriteFile(w.dbPath(), junk, 0o644)
		failsCleanly(t, w, "random bytes", "ltc etl: ", "ltc.duckdb")
		if b, _ := os.ReadFile(w.dbPath()); string(b) != string(junk) {
			t.Errorf("the corrupt file was modified")
		}
	})
	t.Run("damaged blocks", func(t *testing.T) {
		w := newWarehouse(t, t.TempDir())
		w.writeEvents("a.csv", 50000, 0)
		if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
			t.Fatalf("load: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(w.dbPath())
		// Keep the headers (the first 12 KiB): damage every data block after them.
		copy(b[12<<10:], random(len(b)-(12<<10)))
		os.WriteFile(w.dbPath(), b, 0o644)
		w.writeEvents("b.csv", 100, 0)
		out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
		var exit *exec.ExitError
		if err == nil || !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Contains(out, "panic:") {
			t.Errorf("damaged blocks: want a clean failure (exit 1), got %v\n%s", err, out)
		}
		t.Logf("damaged blocks: %s", strings.TrimSpace(out))
	})
	t.Run("garbage WAL", func(t *testing.T) {
		w := newWarehouse(t, t.TempDir())
		w.writeEvents("a.csv", 100, 0)
		if out, err := ltcProcess(t, "etl", "run", "--config", w.cfg); err != nil {
			t.Fatalf("load: %v\n%s", err, out)
		}
		committed, _ := w.inspect()
		os.WriteFile(w.dbPath()+".wal", random(64<<10), 0o644)
		out, err := ltcProcess(t, "etl", "run", "--config", w.cfg)
		var exit *exec.ExitError
		switch {
		case err == nil:
			// DuckDB ignored the WAL (its checksums do not match): the data must be the last commit.
			if got, _ := w.inspect(); got != committed {
				t.Errorf("garbage WAL replayed: %+v, want %+v", got, committed)
			}
		case !errors.As(err, &exit) || exit.ExitCode() != 1 || strings.Contains(out, "panic:"):
			t.Errorf("garbage WAL: want a clean failure or the last commit, got %v\n%s", err, out)
		}
		t.Logf("garbage WAL: %v %s", err, strings.TrimSpace(out))
	})
}
