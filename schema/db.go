// Package schema is the warehouse: it opens the embedded DuckDB database, applies the numbered
// migrations that create the canonical lead-to-cash tables, and holds the process model.
package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options configures how the warehouse is opened.
type Options struct {
	// MemoryLimit is the process's memory budget, e.g. "2GiB" (empty means 2GiB): DuckDB's
	// memory_limit is duckDBShare of it, the rest is headroom for memory DuckDB's limit does not
	// bound (see duckDBShare).
	MemoryLimit string
	// Threads is DuckDB's thread count; 0 means the number of CPUs.
	Threads int
	// TempDirectory is where DuckDB spills when a query exceeds MemoryLimit; empty means DuckDB's default.
	TempDirectory string
	// ReadOnly opens the file read-only (several processes may do so at once); migrations are not run.
	ReadOnly bool
	// Readers is the size of the reader connection pool; 0 means 2 × Threads.
	Readers int
}

// DB is an open warehouse: one writer connection for ETL and a pool of readers for queries,
// both on the same DuckDB database instance.
type DB struct {
	// Write is the single writer connection (MaxOpenConns 1); ETL and migrations use it.
	Write *sql.DB
	// Read is the reader pool used by the KPI engine and the API.
	Read *sql.DB
	// Path is the database file, or "" for an in-memory database.
	Path      string
	connector *duckdb.Connector
	readOnly  bool
	// duckMem and loadMem are DuckDB's memory_limit settings: normally, and while the ETL loads.
	duckMem, loadMem string
	// memLimit is the one in force (duckMem or loadMem), which every new connection sets.
	memLimit *atomic.Pointer[string]
	// version mirrors data_version in memory: read at Open, set by the ETL after each commit
	// (the only writer is in this process), so caches can key on it without a query.
	version atomic.Int64
}

// SessionTimeZone is every connection's TimeZone setting: naive timestamps are read as UTC.
const SessionTimeZone = "UTC"

// Open opens (creating if needed) the DuckDB warehouse at path ("" or ":memory:" for in-memory)
// and, unless read-only, applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if path == ":memory:" {
		path = ""
	}
	if opts.MemoryLimit == "" {
		opts.MemoryLimit = "2GiB"
	}
	duckMem, err := duckDBMemoryLimit(opts.MemoryLimit)
	if err != nil {
		return nil, fmt.Errorf("schema.Open: memory_limit: %w", err)
	}
	loadMem, err := memoryShare(opts.MemoryLimit, loadShare)
	if err != nil {
		return nil, fmt.Errorf("schema.Open: memory_limit: %w", err)
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.NumCPU()
	}
	if opts.Readers <= 0 {
		opts.Readers = 2 * opts.Threads
	}
	dsn := path
	if opts.ReadOnly {
		if path == "" {
			return nil, fmt.Errorf("schema.Open: read-only needs a database file")
		}
		dsn += "?access_mode=read_only"
	}
	// memory_limit is global to the database, and every new connection sets it: to the limit in
	// force, so a reader connection opened while the ETL loads keeps the load's limit (it used to set
	// the normal one, and serve's first load of 1M cases then peaked at 1.74 GiB RSS).
	memLimit := &atomic.Pointer[string]{}
	memLimit.Store(&duckMem)
	settings := []string{
		fmt.Sprintf("SET threads = %d", opts.Threads),
		"SET TimeZone = '" + SessionTimeZone + "'",
		// DuckDB's allocator keeps freed memory for reuse unless told to return it: the first load of
		// 1M cases (make bench L, default 2 GiB budget) peaked at 1.83 GiB RSS with a 512 MiB
		// memory_limit, and at 713 MiB with these two settings, in the same time (48 vs 50 s).
		"SET allocator_flush_threshold = '16MB'",
		"SET allocator_background_threads = true",
	}
	if opts.TempDirectory != "" {
		settings = append(settings, fmt.Sprintf("SET temp_directory = '%s'", sqlString(opts.TempDirectory)))
	}
	connector, err := duckdb.NewConnector(dsn, func(execer driver.ExecerContext) error {
		for _, s := range append([]string{"SET memory_limit = '" + *memLimit.Load() + "'"}, settings...) {
			// Not Open's ctx: connections are opened later too, also after that ctx is done.
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema.Open(%q): %w", path, err)
	}
	db := &DB{
		Write:     sql.OpenDB(connector),
		Read:      sql.OpenDB(connector),
		Path:      path,
		connector: connector,
		readOnly:  opts.ReadOnly,
		duckMem:   duckMem,
		loadMem:   loadMem,
		memLimit:  memLimit,
	}
	db.Write.SetMaxOpenConns(1)
	db.Read.SetMaxOpenConns(opts.Readers)
	db.Read.SetMaxIdleConns(opts.Readers)
	if err := db.Write.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("schema.Open(%q): %w", path, err)
	}
	if !opts.ReadOnly && path != "" {
		// The warehouse holds the business data: owner-only, also for a file an older version left 0644.
		if err := os.Chmod(path, 0o600); err != nil {
			db.Close()
			return nil, fmt.Errorf("schema.Open(%q): %w", path, err)
		}
	}
	if !opts.ReadOnly {
		if _, err := Migrate(ctx, db.Write); err != nil {
			db.Close()
			return nil, err
		}
	}
	v, err := DataVersion(ctx, db.Write)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.version.Store(v)
	return db, nil
}

// Version returns the data version as of the last commit in this process (an in-memory read).
func (db *DB) Version() int64 { return db.version.Load() }

// SetVersion records the data version a commit produced; the ETL calls it after each commit. The
// version only moves forward, so two commits finishing together cannot leave it behind.
func (db *DB) SetVersion(v int64) {
	for {
		cur := db.version.Load()
		if v <= cur || db.version.CompareAndSwap(cur, v) {
			return
		}
	}
}

// ReadOnly reports whether the database was opened read-only.
func (db *DB) ReadOnly() bool { return db.readOnly }

// Connector returns the DuckDB connector, for Appender access.
func (db *DB) Connector() *duckdb.Connector { return db.connector }

// Close checkpoints (when writable) and closes the database. A connection still in use (a query
// cancelled at shutdown that has not yet returned) keeps the DuckDB instance, and so the file lock,
// alive until it is returned; Close waits up to closeTimeout for them. (A query interrupted by
// that cancellation can still leave the instance, and the lock, to the end of the process: DuckDB
// 1.5 through duckdb-go; the binary exits after Close, so only in-process reopening sees it.)
func (db *DB) Close() error {
	if !db.readOnly && db.Path != "" {
		_, _ = db.Write.Exec("CHECKPOINT")
	}
	errs := []error{db.Read.Close(), db.Write.Close(), db.connector.Close(), db.drain()}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("schema.DB.Close: %w", err)
		}
	}
	return nil
}

// closeTimeout bounds how long Close waits for connections in use to be returned.
var closeTimeout = 30 * time.Second

// drain waits until both (closed) pools have released every connection: database/sql closes a
// connection that is in use at Close only when its holder returns it.
func (db *DB) drain() error {
	deadline := time.Now().Add(closeTimeout)
	for {
		open := db.Read.Stats().OpenConnections + db.Write.Stats().OpenConnections
		if open == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d connections still in use after %s; the database stays open until they return", open, closeTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// LimitForLoad lowers DuckDB's memory_limit to the load share of the budget (loadShare) until
// restore is called: an ETL load spills sooner instead of growing the process past its budget.
// The limit is the database's, so queries running meanwhile share it, and connections opened
// meanwhile keep it.
func (db *DB) LimitForLoad(ctx context.Context) (restore func(), err error) {
	db.memLimit.Store(&db.loadMem)
	if _, err := db.Write.ExecContext(ctx, "SET memory_limit = '"+db.loadMem+"'"); err != nil {
		db.memLimit.Store(&db.duckMem)
		return nil, fmt.Errorf("schema.DB.LimitForLoad: %w", err)
	}
	return func() {
		db.memLimit.Store(&db.duckMem)
		// Not ctx: the normal limit comes back also after a cancelled load.
		_, _ = db.Write.ExecContext(context.Background(), "SET memory_limit = '"+db.duckMem+"'")
	}, nil
}

// DataVersion returns the version bumped by every ETL commit.
func DataVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, error) {
	var v int64
	if err := q.QueryRowContext(ctx, "SELECT version FROM data_version WHERE id = 1").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema.DataVersion: %w", err)
	}
	return v, nil
}

// sqlString escapes s for use inside a single-quoted SQL literal (only for settings, never for data).
func sqlString(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\'' {
			out = append(out, '\'')
		}
		out = append(out, r)
	}
	return string(out)
}
