package etl

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/duckdb/duckdb-go/v2"
)

// appendRows fills the temp table table on conn (temp tables live on their connection) with
// DuckDB's Appender: fill appends the rows, and they are flushed when it returns nil.
func appendRows(ctx context.Context, conn *sql.Conn, table string, fill func(a *duckdb.Appender) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(driver.Conn)
		if !ok {
			return fmt.Errorf("append to %s: not a DuckDB connection (%T)", table, dc)
		}
		a, err := duckdb.NewAppender(c, "temp", "main", table)
		if err != nil {
			return fmt.Errorf("append to %s: %w", table, err)
		}
		if err := fill(a); err != nil {
			a.Close()
			return err
		}
		if err := ctx.Err(); err != nil {
			a.Close()
			return err
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("append to %s: %w", table, err)
		}
		return nil
	})
}
