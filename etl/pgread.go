package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ltc-analytics/ltc/etl/source"
)

// pgConnectTimeout bounds connecting when the dsn sets no connect_timeout.
const pgConnectTimeout = 10 * time.Second

// pgConnect opens a connection for spec: simple protocol (values quoted by pgx, so a cursor's
// high-water mark kept as text compares as the column's own type; every value comes back as
// text), session zone UTC (timestamps with a zone read with offset +00). Errors name the server,
// never the dsn (which may hold a password).
func pgConnect(ctx context.Context, spec *source.Spec) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(spec.DSN)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("postgres dsn: cannot parse it (%v)", pe.Unwrap())
		}
		return nil, fmt.Errorf("postgres dsn: cannot parse it")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.RuntimeParams["TimeZone"] = "UTC"
	cfg.RuntimeParams["application_name"] = "ltc"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: cannot connect: %w", pgServer(cfg), err)
	}
	return conn, nil
}

// pgServer names the server and database of a connection config.
func pgServer(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}

// pgBaseQuery is the SELECT a source reads: its table, or its query as a subquery.
func pgBaseQuery(spec *source.Spec) string {
	if spec.Table != "" {
		return "SELECT * FROM " + pgx.Identifier(strings.Split(spec.Table, ".")).Sanitize()
	}
	return "SELECT * FROM (" + strings.TrimRight(strings.TrimSpace(spec.Query), ";") + ") AS ltc_query"
}

// pgRead is what one read of a database source staged.
type pgRead struct {
	st *staged
	// cursor is the high-water mark after the read (the previous one when no row was newer).
	cursor string
}

// readPostgres reads spec's rows into the temp table stg_data and the view stg (_line: the row's
// number in the read; one text column per result column), in one read-only REPEATABLE READ
// transaction on the server: every row when after is "" (a full read), else the rows whose
// cursor column is above after. Rows are fetched batch_size at a time through a server cursor,
// each statement bounded by statement_timeout.
func readPostgres(ctx context.Context, conn *sql.Conn, spec *source.Spec, after string, full bool) (*pgRead, error) {
	pc, err := pgConnect(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer pc.Close(context.Background())
	tx, err := pc.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", fmt.Sprint(spec.Timeout().Milliseconds())); err != nil {
		return nil, fmt.Errorf("postgres: set statement_timeout: %w", err)
	}
	base := pgBaseQuery(spec)
	var args []any
	out := &pgRead{cursor: after}
	if spec.Cursor != "" {
		cur := pgx.Identifier{spec.Cursor}.Sanitize()
		where := ""
		if !full && after != "" {
			where, args = " WHERE ltc_src."+cur+" > $1", []any{after}
		}
		base = "SELECT ltc_src.* FROM (" + base + ") AS ltc_src" + where
		// The high-water mark, in the same snapshot as the rows.
		var hwm *string
		if err := tx.QueryRow(ctx, "SELECT max(ltc_hwm."+cur+")::text FROM ("+base+") AS ltc_hwm", args...).Scan(&hwm); err != nil {
			return nil, fmt.Errorf("postgres: read the cursor column %q: %w", spec.Cursor, err)
		}
		if hwm != nil {
			out.cursor = *hwm
		}
	}
	if _, err := tx.Exec(ctx, "DECLARE ltc_rows NO SCROLL CURSOR FOR "+base, args...); err != nil {
		return nil, fmt.Errorf("postgres: query: %w", err)
	}
	fetch := fmt.Sprintf("FETCH FORWARD %d FROM ltc_rows", spec.Batch())
	var line int64
	created := false
	row := []driver.Value{}
	for {
		rows, err := tx.Query(ctx, fetch)
		if err != nil {
			return nil, fmt.Errorf("postgres: fetch: %w", err)
		}
		if !created {
			cols := pgColumns(rows.FieldDescriptions())
			if err := createPGStage(ctx, conn, cols); err != nil {
				rows.Close()
				return nil, err
			}
			created = true
			row = make([]driver.Value, len(cols)+1)
		}
		n := 0
		err = appendRows(ctx, conn, "stg_data", func(a *duckdb.Appender) error {
			for rows.Next() {
				n++
				line++
				row[0] = line
				for i, v := range rows.RawValues() {
					if v == nil {
						row[i+1] = nil
					} else {
						row[i+1] = string(v)
					}
				}
				if err := a.AppendRow(row...); err != nil {
					return fmt.Errorf("postgres: stage row %d: %w", line, err)
				}
			}
			return nil
		})
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: fetch: %w", err)
		}
		if n == 0 {
			break
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: end the read: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP VIEW stg AS SELECT * FROM stg_data"); err != nil {
		return nil, fmt.Errorf("postgres: stage: %w", err)
	}
	if out.st, err = (&staged{}).finish(ctx, conn); err != nil {
		return nil, fmt.Errorf("postgres: stage: %w", err)
	}
	return out, nil
}

// pgColumns names the result columns, unique (a repeated name gets _1, _2, … as in a CSV header).
func pgColumns(fds []pgconn.FieldDescription) []string {
	seen := map[string]bool{"_line": true}
	out := make([]string, len(fds))
	for i, fd := range fds {
		name := fd.Name
		for base, n := name, 1; seen[name]; n++ {
			name = fmt.Sprintf("%s_%d", base, n)
		}
		seen[name] = true
		out[i] = name
	}
	return out
}

// createPGStage creates the empty staging table of a read: _line and one text column per column.
func createPGStage(ctx context.Context, conn *sql.Conn, cols []string) error {
	for _, q := range []string{"DROP VIEW IF EXISTS stg", "DROP TABLE IF EXISTS stg_data"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("postgres: stage: %w", err)
		}
	}
	defs := []string{"_line BIGINT"}
	for _, c := range cols {
		defs = append(defs, ident(c)+" VARCHAR")
	}
	if _, err := conn.ExecContext(ctx, "CREATE TEMP TABLE stg_data ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("postgres: stage: %w", err)
	}
	return nil
}

// postgresColumns returns the columns spec's table or query has (for ltc check), trying the
// connection on the way.
func postgresColumns(ctx context.Context, spec *source.Spec) (map[string]bool, error) {
	pc, err := pgConnect(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer pc.Close(context.Background())
	rows, err := pc.Query(ctx, "SELECT * FROM ("+pgBaseQuery(spec)+") AS ltc_check LIMIT 0")
	if err != nil {
		return nil, fmt.Errorf("postgres: query: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for _, c := range pgColumns(rows.FieldDescriptions()) {
		have[c] = true
	}
	rows.Close()
	return have, rows.Err()
}
