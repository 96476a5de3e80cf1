package schema

import (
	"context"
	"testing"
)

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{
		"2GiB": 2 << 30, "2gib": 2 << 30, "1500MB": 1_500_000_000, "3 GB": 3_000_000_000, "0.5GiB": 1 << 29, "512KiB": 512 << 10, "100B": 100,
	} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2", "GB", "2 parsecs", "-1GB", "0GB", "1.2.3GB"} {
		if _, err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q): no error", bad)
		}
	}
}

// TestOpenGivesDuckDBItsShare: a 2GiB budget sets DuckDB's memory_limit to 1.5 GiB.
func TestOpenGivesDuckDBItsShare(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{MemoryLimit: "2GiB"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var limit string
	if err := db.Read.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if limit != "1.5 GiB" {
		t.Errorf("DuckDB memory_limit %q, want 1.5 GiB", limit)
	}
	if _, err := Open(ctx, "", Options{MemoryLimit: "lots"}); err == nil {
		t.Error("Open with memory_limit lots: no error")
	}
}

// TestLimitForLoad: during a load DuckDB's memory_limit is a quarter of the budget (2 GiB →
// 512 MiB, as DuckDB prints it), and restore gives back three quarters (1.5 GiB).
func TestLimitForLoad(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "", Options{MemoryLimit: "2GiB"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	limit := func() string {
		t.Helper()
		var s string
		if err := db.Write.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := limit(); got != "1.5 GiB" {
		t.Fatalf("normal limit %q, want 1.5 GiB", got)
	}
	restore, err := db.LimitForLoad(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := limit(); got != "512.0 MiB" {
		t.Fatalf("load limit %q, want 512.0 MiB", got)
	}
	// A reader connection opened during the load (serve's API, probes) keeps the load's limit.
	conn, err := db.Read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('memory_limit')").Scan(&s); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if got := limit(); s != "512.0 MiB" || got != "512.0 MiB" {
		t.Fatalf("after a new reader connection: %q (reader) and %q, want 512.0 MiB", s, got)
	}
	restore()
	if got := limit(); got != "1.5 GiB" {
		t.Fatalf("restored limit %q, want 1.5 GiB", got)
	}
}
