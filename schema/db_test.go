package schema

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCloseWaitsForConnectionsInUse: a connection still held when Close is called (a query
// cancelled at shutdown, not yet returned) keeps the file locked; Close waits for it.
func TestCloseWaitsForConnectionsInUse(t *testing.T) {
	db, conn := openHoldingConn(t)
	const hold = 300 * time.Millisecond
	go func() {
		time.Sleep(hold)
		conn.Close()
	}()
	start := time.Now()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < hold/2 {
		t.Errorf("Close returned after %s, before the held connection was released", waited)
	}
	if n := db.Read.Stats().OpenConnections; n != 0 {
		t.Errorf("%d reader connections open after Close", n)
	}
}

func TestCloseReportsConnectionsNeverReturned(t *testing.T) {
	db, conn := openHoldingConn(t)
	defer conn.Close()
	defer func(d time.Duration) { closeTimeout = d }(closeTimeout)
	closeTimeout = 50 * time.Millisecond
	err := db.Close()
	if err == nil || !strings.Contains(err.Error(), "1 connections still in use") {
		t.Fatalf("Close with a connection never returned: %v", err)
	}
}

// openHoldingConn opens a file warehouse and takes one reader connection from its pool.
func openHoldingConn(t *testing.T) (*DB, *sql.Conn) {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return db, conn
}
