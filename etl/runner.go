package etl

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// Refresher rebuilds derived tables (case facts, rollups) inside the ETL transaction, so readers
// never see canonical tables and derived tables out of step. The KPI engine provides one.
type Refresher func(ctx context.Context, tx *sql.Tx) error

// Options configures a Runner.
type Options struct {
	DB      *schema.DB
	Model   *schema.Model
	Sources []source.Spec
	// Resolve makes a config-relative path absolute.
	Resolve func(string) string
	// Root is the config folder: source files are known by their path relative to it (and by
	// content), so moving the folder reloads nothing, and a glob match that is a symbolic link
	// to a file outside it is refused. "" names files by their absolute path.
	Root string
	// DeriveEvents derives stage events from entity timestamps after each merge.
	DeriveEvents bool
	// Refresh runs inside each committing transaction, after the merge.
	Refresh Refresher
	// OnRun is called after every run (success, no-op or failure), e.g. to update metrics.
	OnRun func(RunResult)
	// OnCommit is called after every commit that refreshed the derived tables and bumped the
	// data version (a job run, or the end of a batch), with the new version.
	OnCommit func(version int64)
	// Progress receives one line per file; nil means none.
	Progress io.Writer
	Logger   *slog.Logger
}

// Runner runs ETL jobs. Runs are serialised on the single writer connection.
type Runner struct {
	opts    Options
	specs   map[string]*source.Spec
	targets map[string]schema.Target
}

// counts are a file's or run's row accounting. conflict counts loaded rows that replaced
// another file's row of the same key with other values.
type counts struct {
	read, loaded, quarantined, duplicate, conflict int64
}

func (c *counts) add(o counts) {
	c.read += o.read
	c.loaded += o.loaded
	c.quarantined += o.quarantined
	c.duplicate += o.duplicate
	c.conflict += o.conflict
}

// NewRunner returns a Runner for the configured sources.
func NewRunner(opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Resolve == nil {
		opts.Resolve = func(p string) string { return p }
	}
	r := &Runner{opts: opts, specs: map[string]*source.Spec{}, targets: schema.CanonicalTargets()}
	for i := range opts.Sources {
		r.specs[opts.Sources[i].Name] = &opts.Sources[i]
	}
	return r
}

// Jobs returns the job names in config order.
func (r *Runner) Jobs() []string {
	out := make([]string, len(r.opts.Sources))
	for i, s := range r.opts.Sources {
		out[i] = s.Name
	}
	return out
}

// RecoverInterrupted marks runs left 'running' by a killed process as failed. Call it at start-up.
func (r *Runner) RecoverInterrupted(ctx context.Context) (int64, error) {
	res, err := r.opts.DB.Write.ExecContext(ctx, `UPDATE etl_runs SET status = 'failed', finished_at = now(),
		error = 'interrupted: the process stopped during the run; nothing of it was committed' WHERE status = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("etl.RecoverInterrupted: %w", err)
	}
	return res.RowsAffected()
}

// RunAll runs every job once, in config order, as a batch: each job commits its rows in its own
// transaction, and the derived tables are refreshed and the data version bumped once at the end
// (so KPIs move from one consistent state to the next in a single commit). It returns every
// job's result; a failed job does not stop the others unless ctx is cancelled.
func (r *Runner) RunAll(ctx context.Context) ([]RunResult, error) {
	return r.RunBatch(ctx, r.Jobs())
}

// RunBatch runs the named jobs once, in the order given, as one batch (see RunAll): the derived
// tables are rebuilt once at the end, not once per job. A job whose name is unknown fails alone;
// a cancelled ctx stops the batch before the next job (the refresh then stays pending, and
// RefreshIfPending completes it at the next start).
func (r *Runner) RunBatch(ctx context.Context, jobs []string) ([]RunResult, error) {
	var out []RunResult
	var errs []error
	defer r.limitMemory(ctx)()
	for _, name := range jobs {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("etl: interrupted before job %s: %w", name, context.Cause(ctx)))
			break
		}
		// A batch of one job is a plain run: its rows and their derived facts commit together.
		alone := len(jobs) == 1
		res, err := r.run(ctx, name, !alone)
		out = append(out, res)
		if err != nil {
			errs = append(errs, err)
		} else if alone && res.Status == StatusSuccess {
			r.committed(res.DataVersion)
		}
	}
	if err := r.RefreshIfPending(ctx); err != nil {
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// RefreshIfPending completes a batch: when jobs committed rows without refreshing the derived
// tables (refresh_pending), it refreshes them and bumps the data version in one transaction.
// Call it at start-up too, to repair a batch interrupted by a crash.
func (r *Runner) RefreshIfPending(ctx context.Context) error {
	conn, err := r.opts.DB.Write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("etl.RefreshIfPending: %w", err)
	}
	defer conn.Close()
	var pending bool
	if err := conn.QueryRowContext(ctx, "SELECT refresh_pending FROM data_version WHERE id = 1").Scan(&pending); err != nil {
		return fmt.Errorf("etl.RefreshIfPending: %w", err)
	}
	if !pending {
		return nil
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("etl.RefreshIfPending: %w", err)
	}
	defer tx.Rollback()
	start := time.Now()
	version, err := r.commitVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("etl.RefreshIfPending: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("etl.RefreshIfPending: commit: %w", err)
	}
	r.opts.Logger.Info("derived tables refreshed", "data_version", version, "duration_seconds", time.Since(start).Seconds())
	r.committed(version)
	return nil
}

// commitVersion refreshes the derived tables and bumps the data version inside tx.
func (r *Runner) commitVersion(ctx context.Context, tx *sql.Tx) (int64, error) {
	if r.opts.DeriveEvents {
		if err := deriveEvents(ctx, tx); err != nil {
			return 0, err
		}
		// Derived events can change any case: rebuild the derived tables whole.
		if err := schema.AskFullRefresh(ctx, tx); err != nil {
			return 0, err
		}
	}
	if r.opts.Refresh != nil {
		if err := r.opts.Refresh(ctx, tx); err != nil {
			return 0, fmt.Errorf("refresh derived tables: %w", err)
		}
	}
	// The derived tables now reflect every recorded change (refresh_cases, refresh_full).
	if _, err := tx.ExecContext(ctx, "DELETE FROM refresh_cases"); err != nil {
		return 0, fmt.Errorf("clear refresh_cases: %w", err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE data_version SET version = version + 1, updated_at = now(), refresh_pending = false,
		refresh_full = false WHERE id = 1 RETURNING version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("bump data version: %w", err)
	}
	return v, nil
}

// Run runs one job: stage and validate every new or changed file, then merge them all, quarantine
// bad rows, refresh derived tables, bump the data version and record the run in one transaction.
// The run is recorded in etl_runs whatever happens; a failed run changes no data.
func (r *Runner) Run(ctx context.Context, job string) (RunResult, error) {
	defer r.limitMemory(ctx)()
	res, err := r.run(ctx, job, false)
	if err == nil && res.Status == StatusSuccess {
		r.committed(res.DataVersion)
	}
	return res, err
}

// limitMemory lowers DuckDB's memory limit for a load (schema.DB.LimitForLoad) and returns the
// function that restores it; a load whose limit could not be lowered runs under the normal one.
func (r *Runner) limitMemory(ctx context.Context) (restore func()) {
	restore, err := r.opts.DB.LimitForLoad(ctx)
	if err != nil {
		r.opts.Logger.Warn("etl: the load runs under the normal memory limit", "err", err)
		return func() {}
	}
	return restore
}

// committed publishes a data version a job's transaction committed.
func (r *Runner) committed(version int64) {
	r.opts.DB.SetVersion(version)
	if r.opts.OnCommit != nil {
		r.opts.OnCommit(version)
	}
}

// run runs one job; batch defers the refresh and the version bump to RefreshIfPending.
func (r *Runner) run(ctx context.Context, job string, batch bool) (RunResult, error) {
	res := RunResult{Job: job, StartedAt: time.Now().UTC(), Status: StatusFailed}
	spec, ok := r.specs[job]
	if !ok {
		return r.finish(res, fmt.Errorf("etl.Run: unknown job %q (jobs: %v)", job, r.Jobs()))
	}
	conn, err := r.opts.DB.Write.Conn(ctx)
	if err != nil {
		return r.finish(res, fmt.Errorf("etl.Run(%s): writer connection: %w", job, err))
	}
	if err := conn.QueryRowContext(ctx, `INSERT INTO etl_runs (run_id, job, started_at, status)
		VALUES (nextval('etl_run_seq'), $1, $2, 'running') RETURNING run_id`, job, res.StartedAt).Scan(&res.RunID); err != nil {
		conn.Close()
		return r.finish(res, fmt.Errorf("etl.Run(%s): record run: %w", job, err))
	}
	r.opts.Logger.Debug("etl run started", "job", job, "run_id", res.RunID)
	err = r.runOn(ctx, conn, spec, &res, batch)
	// Release the pinned connection before recording: when ctx was cancelled mid-transaction,
	// database/sql rolled back and discarded it, and the outcome must still be written.
	conn.Close()
	switch {
	case err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		// DuckDB reports an interrupted query as its own error; say why it was interrupted.
		err = fmt.Errorf("etl.Run(%s): %w: %w", job, ctx.Err(), err)
	case err != nil:
		err = fmt.Errorf("etl.Run(%s): %w", job, err)
	}
	res.FinishedAt = time.Now().UTC()
	if recErr := r.record(res, err); recErr != nil {
		err = errors.Join(err, recErr)
	}
	return r.finish(res, err)
}

// runOn does the work of run on the pinned writer connection and fills res.
func (r *Runner) runOn(ctx context.Context, conn *sql.Conn, spec *source.Spec, res *RunResult, batch bool) error {
	if spec.Format == source.FormatPostgres {
		return r.runDatabase(ctx, conn, spec, res, batch)
	}
	start := time.Now()
	files, err := listFiles(r.opts.Resolve(spec.Glob), r.opts.Root)
	if err != nil {
		return err
	}
	r.opts.Logger.Debug("files listed", "job", spec.Name, "files", len(files), "duration_seconds", time.Since(start).Seconds())
	manifest, err := readManifest(ctx, conn, spec.Name)
	if err != nil {
		return err
	}
	changed, renamed, gone := plan(files, manifest)
	res.Files = len(changed)
	if len(changed)+len(renamed)+len(gone) == 0 {
		res.Status = StatusNoop
		res.DataVersion, err = schema.DataVersion(ctx, conn)
		return err
	}
	total, err := r.load(ctx, conn, spec, res.RunID, changed, renamed, gone, batch)
	res.RowsRead, res.RowsLoaded, res.RowsQuarantined, res.RowsDuplicate = total.read, total.loaded, total.quarantined, total.duplicate
	res.RowsConflict = total.conflict
	if err != nil {
		return err
	}
	res.Status = StatusSuccess
	res.DataVersion, err = schema.DataVersion(ctx, conn)
	return err
}

// load stages, validates and merges the changed files, moves renamed files' rows to their new
// names and applies the on_missing rule to gone files, all in one transaction, which also
// refreshes the derived tables and bumps the data version — or, in a batch, marks the refresh
// pending.
func (r *Runner) load(ctx context.Context, conn *sql.Conn, spec *source.Spec, runID int64,
	files []fileInfo, renamed []rename, gone []manifestEntry, batch bool) (counts, error) {
	var total counts
	target := r.targets[spec.Target]
	if err := r.prepareActivityMap(ctx, conn); err != nil {
		return total, err
	}
	lk := &lookups{tables: map[string]string{}}
	// Every file is staged and classified before the transaction begins: the temp tables are
	// then ordinary committed tables, which the merge reads at about twice the speed of tables
	// in the transaction's local storage. Only temp tables change before the transaction, so a
	// failed run still changes nothing.
	if err := startBatch(ctx, conn); err != nil {
		return total, err
	}
	preps := make([]*staged, len(files))
	present := make([]bool, len(files))
	took := make([]time.Duration, len(files))
	batched := false
	done := make([]bool, len(files))
	if spec.Format == "csv" && len(files) > 1 {
		groups, err := csvGroups(spec, files)
		if err != nil {
			return total, err
		}
		for _, g := range groups {
			if len(g.fids) < 2 {
				continue
			}
			start := time.Now()
			each, added, err := r.prepareGroup(ctx, conn, spec, target, files, g, lk, !batched)
			var fe *fileError
			if errors.As(err, &fe) || errors.Is(err, errGroupRead) {
				// Staged one by one below, which names the file at fault.
				r.opts.Logger.Debug("files staged one by one", "job", spec.Name, "err", err)
				continue
			}
			if err != nil {
				return total, err
			}
			batched = batched || added
			// A file read with others is given an equal share of the group's time.
			share := time.Since(start) / time.Duration(len(g.fids))
			for _, fid := range g.fids {
				preps[fid], present[fid], took[fid], done[fid] = each[fid], each[fid] != nil, share, true
			}
		}
	}
	for i, f := range files {
		if done[i] {
			continue
		}
		start := time.Now()
		p, err := r.prepareFile(ctx, conn, spec, target, f, lk, i, !batched)
		if err == nil && p != nil {
			c := time.Now()
			err = collect(ctx, conn, p, i, spec.Format, !batched)
			batched = true
			r.opts.Logger.Debug("file collected", "job", spec.Name, "file", f.name, "duration_seconds", time.Since(c).Seconds())
		}
		if err != nil {
			return total, fmt.Errorf("%s: %w", f.name, err)
		}
		preps[i], present[i], took[i] = p, p != nil, time.Since(start)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return total, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if target.Table == "stage_events" {
		start := time.Now()
		if err := identifyEvents(ctx, tx); err != nil {
			return total, err
		}
		r.opts.Logger.Debug("events identified", "job", spec.Name, "duration_seconds", time.Since(start).Seconds())
	}
	for _, rn := range renamed {
		if err := renameFile(ctx, tx, spec.Name, runID, target, rn); err != nil {
			return total, err
		}
		r.opts.Logger.Info("source file known by content under a new name; nothing reloads", "job", spec.Name, "from", rn.from.name, "to", rn.to.name)
		if r.opts.Progress != nil {
			fmt.Fprintf(r.opts.Progress, "%s: %s: same content as %s, renamed, nothing reloaded\n", spec.Name, rn.to.name, rn.from.name)
		}
	}
	for _, e := range gone {
		state, err := fileGone(ctx, tx, spec, target, runID, e)
		if err != nil {
			return total, err
		}
		r.opts.Logger.Info("source file gone", "job", spec.Name, "file", e.name, "state", state)
		if r.opts.Progress != nil {
			fmt.Fprintf(r.opts.Progress, "%s: %s: gone, %s\n", spec.Name, e.name, stateWords(state))
		}
	}
	merged := make([]counts, len(files))
	if batched {
		start := time.Now()
		if merged, err = mergeBatch(ctx, tx, spec.Name, runID, target, files, present); err != nil {
			return total, err
		}
		r.opts.Logger.Debug("batch merged", "job", spec.Name, "files", len(files), "duration_seconds", time.Since(start).Seconds())
	}
	for i, f := range files {
		c, state, err := r.mergeFile(ctx, tx, spec, target, runID, f, preps[i], merged[i])
		if err != nil {
			return total, fmt.Errorf("%s: %w", f.name, err)
		}
		if c.read != c.loaded+c.quarantined+c.duplicate {
			return total, fmt.Errorf("%s: row accounting broken: read %d ≠ loaded %d + quarantined %d + duplicate %d",
				f.name, c.read, c.loaded, c.quarantined, c.duplicate)
		}
		total.add(c)
		if c.conflict > 0 {
			r.opts.Logger.Warn("rows replaced another file's rows of the same key with other values; the later file wins",
				"job", spec.Name, "file", f.name, "rows", c.conflict)
		}
		if r.opts.Progress != nil {
			note := ""
			if c.conflict > 0 {
				note = fmt.Sprintf(" (%d replaced other files' rows of the same key)", c.conflict)
			}
			if state != statePresent {
				note = ", " + stateWords(state)
			}
			fmt.Fprintf(r.opts.Progress, "%s: %s: %d read, %d loaded, %d quarantined, %d duplicate%s (%.2fs)\n",
				spec.Name, f.name, c.read, c.loaded, c.quarantined, c.duplicate, note, took[i].Seconds())
		}
	}
	start := time.Now()
	if err := r.finishLoad(ctx, tx, runID, len(files), total, batch); err != nil {
		return total, err
	}
	if err := tx.Commit(); err != nil {
		return total, fmt.Errorf("commit: %w", err)
	}
	r.opts.Logger.Debug("job committed", "job", spec.Name, "duration_seconds", time.Since(start).Seconds())
	return total, nil
}

// finishLoad completes a run's transaction before its commit: it refreshes the derived tables
// and bumps the data version (or, in a batch, marks the refresh pending) and records the run's
// outcome, which so commits with its data: a process killed between this commit and record
// leaves a run that says what it loaded, not one RecoverInterrupted would call uncommitted.
func (r *Runner) finishLoad(ctx context.Context, tx *sql.Tx, runID int64, files int, total counts, batch bool) error {
	if batch {
		if _, err := tx.ExecContext(ctx, "UPDATE data_version SET refresh_pending = true WHERE id = 1"); err != nil {
			return fmt.Errorf("mark refresh pending: %w", err)
		}
	} else if _, err := r.commitVersion(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE etl_runs SET status = 'success', finished_at = now()::TIMESTAMP,
		files = $2, rows_read = $3, rows_loaded = $4, rows_quarantined = $5, rows_duplicate = $6, rows_conflict = $7,
		duration_ms = date_diff('millisecond', started_at, now()::TIMESTAMP) WHERE run_id = $1`,
		runID, files, total.read, total.loaded, total.quarantined, total.duplicate, total.conflict); err != nil {
		return fmt.Errorf("record outcome: %w", err)
	}
	return nil
}

// prepareFile stages one file into stg and classifies its rows into the batch as file fid (first:
// the batch's first file); nil means an empty file: 0 bytes, or no record (a header only, blank
// lines, a Parquet file of no rows), which adds nothing to the batch.
func (r *Runner) prepareFile(ctx context.Context, conn *sql.Conn, spec *source.Spec, target schema.Target,
	f fileInfo, lk *lookups, fid int, first bool) (*staged, error) {
	start := time.Now()
	st, err := stageFile(ctx, conn, spec, f)
	r.opts.Logger.Debug("file staged", "job", spec.Name, "file", f.name, "duration_seconds", time.Since(start).Seconds())
	if errors.Is(err, errEmptyFile) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st.rows == 0 && len(st.rejected) == 0 {
		return nil, f.check()
	}
	// The manifest records the version fingerprinted at listing, so the rows must come from it:
	// a file rewritten, truncated or appended to since then fails the run (the next run retries).
	if err := f.check(); err != nil {
		return nil, err
	}
	start = time.Now()
	if err := classify(ctx, conn, spec, target, st, r.opts.Resolve, lk, fid, first); err != nil {
		return nil, err
	}
	// A Parquet file is read by classify itself (stageParquet): check again.
	if err := f.check(); err != nil {
		return nil, err
	}
	r.opts.Logger.Debug("file validated", "job", spec.Name, "file", f.name, "duration_seconds", time.Since(start).Seconds())
	return st, nil
}

// errGroupRead marks a failed read of a group of files together; they are then read one by one.
var errGroupRead = errors.New("files read together")

// prepareGroup stages the CSV files g of files in one read and classifies their rows into the
// batch together (first: the batch's first rows), the work of prepareFile for each of them; it
// returns each file's staging (nil: no record) and whether rows were added to the batch.
func (r *Runner) prepareGroup(ctx context.Context, conn *sql.Conn, spec *source.Spec, target schema.Target,
	files []fileInfo, g csvGroup, lk *lookups, first bool) (map[int]*staged, bool, error) {
	start := time.Now()
	group, each, err := stageCSVGroup(ctx, conn, spec, files, g)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", errGroupRead, err)
	}
	r.opts.Logger.Debug("files staged", "job", spec.Name, "files", len(g.fids), "duration_seconds", time.Since(start).Seconds())
	// The manifest records the versions fingerprinted at listing, so the rows must come from them.
	for _, fid := range g.fids {
		if err := files[fid].check(); err != nil {
			return nil, false, fmt.Errorf("%s: %w", files[fid].name, err)
		}
	}
	if !slices.ContainsFunc(g.fids, func(fid int) bool { return each[fid] != nil }) {
		return each, false, nil
	}
	start = time.Now()
	if err := classify(ctx, conn, spec, target, group, r.opts.Resolve, lk, g.fids[0], first); err != nil {
		return nil, false, err
	}
	r.opts.Logger.Debug("files validated", "job", spec.Name, "files", len(g.fids), "duration_seconds", time.Since(start).Seconds())
	start = time.Now()
	if err := collect(ctx, conn, group, g.fids[0], spec.Format, first); err != nil {
		return nil, false, err
	}
	r.opts.Logger.Debug("files collected", "job", spec.Name, "files", len(g.fids), "duration_seconds", time.Since(start).Seconds())
	return each, true, nil
}

// mergeFile completes one file of the job inside tx, after the batch merge gave its counts c:
// the reader's rejects join the quarantine and the manifest records the file. An empty file
// (st nil) is treated like a deleted one (fileGone): by default the rows it loaded before stay
// and the manifest says it is empty; on_missing: retract removes them.
func (r *Runner) mergeFile(ctx context.Context, tx *sql.Tx, spec *source.Spec, target schema.Target,
	runID int64, f fileInfo, st *staged, c counts) (counts, string, error) {
	if st == nil {
		state, rows := stateEmpty, f.prevRows
		if f.loaded && spec.OnMissing == source.Retract {
			if err := retract(ctx, tx, target, f.name); err != nil {
				return c, "", err
			}
			state, rows = stateRetracted, 0
		}
		return c, state, recordFile(ctx, tx, spec.Name, runID, f, rows, state)
	}
	if err := quarantineRejected(ctx, tx, spec.Name, runID, f.name, st.rejected); err != nil {
		return c, "", err
	}
	c.quarantined += int64(len(st.rejected))
	c.read = st.rows + int64(len(st.rejected))
	return c, statePresent, recordFile(ctx, tx, spec.Name, runID, f, c.read, statePresent)
}

// stateWords says what a manifest state means for the file's rows.
func stateWords(state string) string {
	switch state {
	case stateEmpty:
		return "empty: the rows it loaded before stay (on_missing: keep)"
	case stateGone:
		return "the rows it loaded stay (on_missing: keep)"
	case stateRetracted:
		return "its rows were removed (on_missing: retract)"
	}
	return state
}

// prepareActivityMap writes the model's activity → stage map (and which stages are gates) into a
// temp table for validation and the merge.
func (r *Runner) prepareActivityMap(ctx context.Context, conn *sql.Conn) error {
	if _, err := conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE activity_map (activity VARCHAR PRIMARY KEY, stage VARCHAR NOT NULL, gate BOOLEAN NOT NULL)"); err != nil {
		return fmt.Errorf("activity map: %w", err)
	}
	m := r.opts.Model.ActivityMap()
	acts := make([]string, 0, len(m))
	for a := range m {
		acts = append(acts, a)
	}
	sort.Strings(acts)
	for _, a := range acts {
		st, _ := r.opts.Model.Stage(m[a])
		if _, err := conn.ExecContext(ctx, "INSERT INTO activity_map VALUES ($1, $2, $3)", a, m[a], st.Gate != nil); err != nil {
			return fmt.Errorf("activity map: %w", err)
		}
	}
	return nil
}

// record writes the run's outcome to etl_runs (outside the load transaction, so a failed run is
// recorded even though its data rolled back).
func (r *Runner) record(res RunResult, runErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // the run's ctx may be cancelled
	defer cancel()
	status := res.Status
	var msg any
	if runErr != nil {
		status, msg = StatusFailed, runErr.Error()
	}

	_, err := r.opts.DB.Write.ExecContext(ctx, `UPDATE etl_runs SET finished_at = $1, status = $2, files = $3, rows_read = $4,
		rows_loaded = $5, rows_quarantined = $6, rows_duplicate = $7, duration_ms = $8, error = $9, rows_conflict = $11 WHERE run_id = $10`,
		res.FinishedAt, status, res.Files, res.RowsRead, res.RowsLoaded, res.RowsQuarantined, res.RowsDuplicate,
		res.FinishedAt.Sub(res.StartedAt).Milliseconds(), msg, res.RunID, res.RowsConflict)
	if err != nil {
		return fmt.Errorf("etl.Run(%s): record outcome: %w", res.Job, err)
	}
	return nil
}

// finish completes res with err and reports it.
func (r *Runner) finish(res RunResult, err error) (RunResult, error) {
	if res.FinishedAt.IsZero() {
		res.FinishedAt = time.Now().UTC()
	}
	res.Err = err
	if err != nil {
		res.Status = StatusFailed
		r.opts.Logger.Error("etl run failed", "job", res.Job, "run_id", res.RunID, "err", err)
	} else {
		r.opts.Logger.Info("etl run", "job", res.Job, "run_id", res.RunID, "status", res.Status, "files", res.Files,
			"read", res.RowsRead, "loaded", res.RowsLoaded, "quarantined", res.RowsQuarantined,
			"duplicate", res.RowsDuplicate, "conflict", res.RowsConflict, "duration_seconds", res.Duration().Seconds())
	}
	if r.opts.OnRun != nil {
		r.opts.OnRun(res)
	}
	return res, err
}
