package source

import (
	"fmt"
	"regexp"
	"time"
)

// Postgres are the options of a PostgreSQL source (format: postgres). A run reads the table (or
// the query's rows) in one read-only REPEATABLE READ transaction, batch_size rows per round trip,
// each statement bounded by statement_timeout. With a cursor column a run reads only the rows
// whose cursor is above the high-water mark kept in the manifest (etl_files.cursor), and upserts
// them by the target's key; deleted rows are removed by a full compare (every row read, the
// source's rows replaced) once the last one is older than full_compare_every.
type Postgres struct {
	// DSN is the connection string (URL or key=value); write the password as ${VAR}.
	DSN string `yaml:"dsn"`
	// Table is the table (or view) read, as name or schema.name; give Table or Query.
	Table string `yaml:"table"`
	// Query is a SELECT whose rows are read (it runs in a read-only transaction).
	Query string `yaml:"query"`
	// Cursor is a column that grows with every insert and update (e.g. updated_at, a sequence).
	Cursor string `yaml:"cursor"`
	// BatchSize is the number of rows fetched per round trip (default 10000).
	BatchSize int `yaml:"batch_size"`
	// StatementTimeout bounds each statement on the server (default 5m).
	StatementTimeout string `yaml:"statement_timeout"`
	// FullCompareEvery is how old the last full compare may be before a run with a cursor reads
	// every row again, to drop deleted rows (default 24h).
	FullCompareEvery string `yaml:"full_compare_every"`
}

// Defaults of a PostgreSQL source.
const (
	DefaultBatchSize        = 10000
	DefaultStatementTimeout = 5 * time.Minute
	DefaultFullCompareEvery = 24 * time.Hour
)

// pgName is a table (name or schema.name) or column name a PostgreSQL source may give.
var (
	pgTable  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$`)
	pgColumn = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)
)

// validate checks the PostgreSQL options of source name (glob: the spec's, which must be empty).
func (p Postgres) validate(name, glob string) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("source %q: %s", name, fmt.Sprintf(format, args...)))
	}
	if glob != "" {
		bad("glob is for file sources; a postgres source reads its table or query")
	}
	if p.DSN == "" {
		bad("dsn is required (e.g. postgres://ltc:${PGPASSWORD}@db:5432/crm)")
	}
	switch {
	case p.Table == "" && p.Query == "":
		bad("give table or query")
	case p.Table != "" && p.Query != "":
		bad("give table or query, not both")
	case p.Table != "" && !pgTable.MatchString(p.Table):
		bad("table %q: want name or schema.name (letters, digits, _)", p.Table)
	}
	if p.Cursor != "" && !pgColumn.MatchString(p.Cursor) {
		bad("cursor %q: want a column name (letters, digits, _)", p.Cursor)
	}
	if p.BatchSize < 0 {
		bad("batch_size %d: want a positive number (default %d)", p.BatchSize, DefaultBatchSize)
	}
	for _, d := range []struct{ key, v string }{{"statement_timeout", p.StatementTimeout}, {"full_compare_every", p.FullCompareEvery}} {
		if d.v == "" {
			continue
		}
		if v, err := time.ParseDuration(d.v); err != nil || v <= 0 {
			bad("%s %q: want a positive duration such as 30s", d.key, d.v)
		}
	}
	if p.FullCompareEvery != "" && p.Cursor == "" {
		bad("full_compare_every needs a cursor (without one every run reads every row)")
	}
	return errs
}

// Batch returns the batch size (the default when unset).
func (p Postgres) Batch() int {
	if p.BatchSize > 0 {
		return p.BatchSize
	}
	return DefaultBatchSize
}

// Timeout returns the statement timeout (the default when unset).
func (p Postgres) Timeout() time.Duration {
	return durationOr(p.StatementTimeout, DefaultStatementTimeout)
}

// FullCompare returns how old the last full compare may be (the default when unset).
func (p Postgres) FullCompare() time.Duration {
	return durationOr(p.FullCompareEvery, DefaultFullCompareEvery)
}

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d
	}
	return def
}
