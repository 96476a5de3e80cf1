// Package etl loads source files into the warehouse: read into staging with DuckDB's readers,
// validate, quarantine bad rows with their reason, file and line, merge the rest by natural key in
// one transaction, and record the run. Jobs run under gocron, one writer at a time.
package etl

import "time"

// Run statuses as stored in etl_runs.status.
const (
	StatusRunning = "running"
	StatusSuccess = "success"
	StatusFailed  = "failed"
	// StatusNoop marks a run that found no new or changed file.
	StatusNoop = "noop"
)

// RunResult is the outcome of one job run, as recorded in etl_runs.
// RowsRead = RowsLoaded + RowsQuarantined + RowsDuplicate always holds.
type RunResult struct {
	RunID           int64
	Job             string
	Status          string
	StartedAt       time.Time
	FinishedAt      time.Time
	Files           int
	RowsRead        int64
	RowsLoaded      int64
	RowsQuarantined int64
	RowsDuplicate   int64
	// RowsConflict counts loaded rows (a part of RowsLoaded) that replaced another file's row of
	// the same key with other values: the later file wins, and the run says so.
	RowsConflict int64
	// DataVersion is the warehouse data version after the run (bumped when the run committed changes).
	DataVersion int64
	Err         error
}

// Duration is the wall time of the run.
func (r RunResult) Duration() time.Duration { return r.FinishedAt.Sub(r.StartedAt) }
