package etl

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// loadAfterListing lists the opps files, lets mutate change them, then loads the listed versions
// as a run does, and returns the load's error.
func loadAfterListing(t *testing.T, f *fixture, r *Runner, mutate func()) error {
	t.Helper()
	ctx := context.Background()
	files, err := listFiles(filepath.Join(f.dir, "opps/*.csv"), f.dir)
	if err != nil {
		t.Fatal(err)
	}
	mutate()
	conn, err := f.db.Write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = r.load(ctx, conn, r.specs["opps"], 0, files, nil, nil, false)
	return err
}

// TestSourceFileDeletedOrTruncatedAfterListing: a file that vanishes or changes between the listing
// (which fingerprints it for the manifest) and the read fails the run with a clear error and
// loads nothing; the manifest keeps the old version, so the next run loads the new one.
func TestSourceFileDeletedOrTruncatedAfterListing(t *testing.T) {
	f := newFixture(t)
	r := f.runner(nil, oppSpec)
	a := f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\n")
	mustRun(t, r, "opps")
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\no3,Open\no4,Open\n")

	err := loadAfterListing(t, f, r, func() { os.Remove(a) })
	if err == nil || !strings.Contains(err.Error(), "source file: stat "+a+": no such file or directory") {
		t.Errorf("deleted: err %v", err)
	}
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\no3,Open\no4,Open\n")
	err = loadAfterListing(t, f, r, func() { os.Truncate(a, 20) })
	if !errors.Is(err, errFileChanged) || !strings.Contains(err.Error(), "size 40 → 20 bytes") {
		t.Errorf("truncated: err %v", err)
	}
	// A producer appending while the file is read (the read sees more rows than were fingerprinted).
	f.write("opps/a.csv", "id,stage\no1,Won\no2,Lost\no3,Open\no4,Open\n")
	err = loadAfterListing(t, f, r, func() {
		fh, _ := os.OpenFile(a, os.O_APPEND|os.O_WRONLY, 0)
		fh.WriteString("o5,Open\n")
		fh.Close()
	})
	if !errors.Is(err, errFileChanged) {
		t.Errorf("appended: err %v", err)
	}
	if got := f.str("SELECT string_agg(opportunity_id, ',' ORDER BY 1) FROM opportunities"); got != "o1,o2" {
		t.Errorf("data after the failed loads: %s, want o1,o2", got)
	}
	res := mustRun(t, r, "opps")
	if res.RowsLoaded != 5 {
		t.Errorf("next run: %+v", res)
	}
}

// TestCancelledRunIsRecordedAsFailed: cancelling a run's context mid-transaction (SIGTERM) rolls
// it back — database/sql then discards the pinned connection — and the run is still recorded as
// failed rather than left 'running'. (It was left running before the fix.)
func TestCancelledRunIsRecordedAsFailed(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := f.runner(func(ctx context.Context, tx *sql.Tx) error {
		cancel()
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // let database/sql roll back and discard the connection
		return ctx.Err()
	}, oppSpec)
	res, err := r.Run(ctx, "opps")
	if !errors.Is(err, context.Canceled) || res.Status != StatusFailed {
		t.Fatalf("cancelled run: %v %+v", err, res)
	}
	if got := f.str("SELECT status || ': ' || error FROM etl_runs"); !strings.HasPrefix(got, "failed: ") || !strings.Contains(got, "context canceled") {
		t.Errorf("recorded %q", got)
	}
	if n := f.count("SELECT count(*) FROM opportunities"); n != 0 {
		t.Errorf("%d rows committed by a cancelled run", n)
	}
}

// TestCommittedRunRecordsItsOutcomeInTheTransaction: the committing transaction itself marks the
// run successful with its counts, so a crash right after the commit cannot leave a run that
// RecoverInterrupted would report as uncommitted.
func TestCommittedRunRecordsItsOutcomeInTheTransaction(t *testing.T) {
	f := newFixture(t)
	f.write("opps/a.csv", "id,stage\no1,Won\no1,Won\no2,Bad\n")
	var seen string
	r := f.runner(nil, oppSpec)
	r.opts.OnCommit = func(int64) {
		// Runs after the commit and before the outcome is written by record.
		seen = f.str("SELECT status || ' ' || rows_read || '=' || rows_loaded || '+' || rows_quarantined || '+' || rows_duplicate FROM etl_runs")
	}
	mustRun(t, r, "opps")
	if seen != "success 3=1+1+1" {
		t.Errorf("etl_runs right after the commit: %q", seen)
	}
}
