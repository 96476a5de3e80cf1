package main

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/ltc-analytics/ltc/config"
)

// TestGoMemoryLimitFromBudget: the Go heap gets the quarter of database.memory_limit that DuckDB
// does not (there was no limit at all: three large answers left 5.7 GiB held), unless GOMEMLIMIT
// says otherwise.
func TestGoMemoryLimitFromBudget(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	logger := slog.New(slog.DiscardHandler)
	t.Setenv("GOMEMLIMIT", "")
	for budget, want := range map[string]int64{"1GiB": 256 << 20, "": 512 << 20} {
		debug.SetMemoryLimit(math.MaxInt64)
		if _, err := setGoMemoryLimit(&config.Config{Database: config.Database{MemoryLimit: budget}}, logger); err != nil {
			t.Fatal(err)
		}
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("memory_limit %q: Go limit %d, want %d", budget, got, want)
		}
	}
	t.Setenv("GOMEMLIMIT", "300MiB")
	debug.SetMemoryLimit(300 << 20) // as the runtime read it at start
	if _, err := setGoMemoryLimit(&config.Config{Database: config.Database{MemoryLimit: "1GiB"}}, logger); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("with GOMEMLIMIT: %d, want it left at 300MiB", got)
	}
}
