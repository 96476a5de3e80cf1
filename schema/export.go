package schema

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// exportPartition is the timestamp each canonical table is partitioned by in a Parquet export
// (month=YYYY-MM); tables without one are written as a single file.
var exportPartition = map[string]string{
	"leads":           "created_at",
	"opportunities":   "coalesce(created_at, closed_at)",
	"stage_events":    "occurred_at",
	"contracts":       "signed_at",
	"deliveries":      "coalesce(started_at, accepted_at)",
	"invoices":        "issued_at",
	"payments":        "received_at",
	"marketing_spend": "period_start",
}

// ExportTables are the tables an export writes: the canonical tables of DESIGN §3.
var ExportTables = []string{"accounts", "employees", "leads", "opportunities", "stage_events", "contracts",
	"deliveries", "invoices", "payments", "assignments", "marketing_spend", "initiatives", "initiative_waves",
	"initiative_targets"}

// ExportParquet writes the canonical tables under dir as Parquet that Spark, Trino or ClickHouse
// read directly: dir/<table>/month=YYYY-MM/*.parquet (Hive partitioning) for tables with a
// natural timestamp, dir/<table>/data.parquet otherwise. Everything is read in one transaction,
// so the export is one consistent state. It returns the number of rows written per table.
func ExportParquet(ctx context.Context, db *DB, dir string) (map[string]int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("schema.ExportParquet: %w", err)
	}
	conn, err := db.Read.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema.ExportParquet: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("schema.ExportParquet: %w", err)
	}
	defer tx.Rollback()
	rows := map[string]int64{}
	for _, table := range ExportTables {
		out := filepath.Join(dir, table)
		if err := os.RemoveAll(out); err != nil {
			return nil, fmt.Errorf("schema.ExportParquet: %w", err)
		}
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			return nil, fmt.Errorf("schema.ExportParquet(%s): %w", table, err)
		}
		rows[table] = n
		sel, err := exportColumns(ctx, tx, table)
		if err != nil {
			return nil, fmt.Errorf("schema.ExportParquet(%s): %w", table, err)
		}
		// COPY … TO takes no bound parameters: the path is dir (from our caller) + a table name
		// from the whitelist above, quoted as a literal.
		var q string
		if ts, ok := exportPartition[table]; ok {
			q = "COPY (SELECT " + sel + ", coalesce(strftime(" + ts + ", '%Y-%m'), 'unknown') AS month FROM " + table +
				") TO '" + sqlString(out) + "' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE)"
		} else {
			if err := os.MkdirAll(out, 0o755); err != nil {
				return nil, fmt.Errorf("schema.ExportParquet: %w", err)
			}
			q = "COPY (SELECT " + sel + " FROM " + table + ") TO '" + sqlString(filepath.Join(out, "data.parquet")) + "' (FORMAT parquet)"
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("schema.ExportParquet(%s): %w", table, err)
		}
	}
	return rows, tx.Commit()
}

// exportColumns is the select list of table in an export: timestamps (stored in UTC) as
// TIMESTAMP WITH TIME ZONE, which Parquet marks isAdjustedToUTC (Spark reads TIMESTAMP, not
// TIMESTAMP_NTZ), and _file as the source's name relative to the config, never a host path
// (rows loaded before names were relative keep only the file name).
func exportColumns(ctx context.Context, tx *sql.Tx, table string) (string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = 'main' AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return "", err
		}
		col := `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
		switch {
		case typ == "TIMESTAMP":
			col += "::TIMESTAMPTZ AS " + col
		case name == "_file":
			col = `CASE WHEN regexp_matches(_file, '^([A-Za-z]:)?[/\\]') THEN regexp_extract(_file, '[^/\\]+$') ELSE _file END AS _file`
		}
		cols = append(cols, col)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return strings.Join(cols, ", "), nil
}

// ImportParquet loads an export written by ExportParquet into the (empty) canonical tables of db,
// in one transaction.
func ImportParquet(ctx context.Context, db *DB, dir string) error {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schema.ImportParquet: %w", err)
	}
	defer tx.Rollback()
	for _, table := range ExportTables {
		glob := filepath.Join(dir, table, "**", "*.parquet")
		var q string
		if _, ok := exportPartition[table]; ok {
			q = "INSERT INTO " + table + " BY NAME SELECT * EXCLUDE (month) FROM read_parquet($1, hive_partitioning = true)"
		} else {
			q = "INSERT INTO " + table + " BY NAME SELECT * FROM read_parquet($1)"
		}
		if matches, _ := filepath.Glob(filepath.Join(dir, table, "*")); len(matches) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, q, glob); err != nil {
			return fmt.Errorf("schema.ImportParquet(%s): %w", table, err)
		}
	}
	if err := AskFullRefresh(ctx, tx); err != nil {
		return fmt.Errorf("schema.ImportParquet: %w", err)
	}
	return tx.Commit()
}
