package kpi

import (
	"context"
	"database/sql"
	"fmt"
)

// clusterShare: once the cases an incremental refresh rewrote since kpi_case was last written in
// order exceed this share of its rows, the refresh rewrites kpi_case sorted by case start and
// kpi_case_gate by entry of the guarded stage, as a full refresh writes them. An incremental
// refresh deletes the touched cases' rows and appends their new ones, so without it the tables
// drift out of the order the KPI queries' period filters rely on (zone maps skip row groups).
const clusterShare = 0.1

// recluster counts the cases an incremental refresh (touched cases, inside tx) rewrote out of
// order and, past clusterShare of kpi_case, sorts kpi_case and kpi_case_gate again. A full
// refresh writes them sorted: the count starts again. The count is the engine's (one writer per
// process): a restart forgets it, so the first sort after a restart may come up to one share late.
func (e *Engine) recluster(ctx context.Context, tx *sql.Tx, full bool, touched int64) error {
	if full {
		e.unsorted.Store(0)
		return nil
	}
	n := e.unsorted.Add(touched)
	var cases int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM kpi_case").Scan(&cases); err != nil {
		return fmt.Errorf("recluster: %w", err)
	}
	if float64(n) <= clusterShare*float64(cases) {
		return nil
	}
	for _, q := range []string{
		"CREATE OR REPLACE TABLE kpi_case AS SELECT * FROM kpi_case ORDER BY started_at NULLS LAST, case_id",
		"CREATE OR REPLACE TABLE kpi_case_gate AS SELECT * FROM kpi_case_gate ORDER BY entered_at, case_id, gate_pos",
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("recluster: %w", err)
		}
	}
	e.unsorted.Store(0)
	return nil
}
