package schema

import (
	"fmt"
	"strconv"
	"strings"
)

// duckDBShare is the part of the memory budget given to DuckDB's buffer manager (its
// memory_limit). The rest is headroom for what that limit does not bound: the Go heap (API
// responses, the result cache), DuckDB's allocations outside the buffer manager and allocator
// slack. Measured at 1M cases (make bench): with DuckDB's memory_limit equal to the whole budget
// (2 GB) the server peaked 17% above it (2.18 GiB); with three quarters of 2 GiB, at 1.65–1.76 GiB.
const duckDBShare = 0.75

// memoryUnits are the size suffixes accepted in a memory budget, in bytes (DuckDB's spelling:
// KB, MB, GB, TB are powers of 1000; KiB, MiB, GiB, TiB powers of 1024).
var memoryUnits = map[string]float64{
	"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseMemory parses a memory size such as "2GiB", "1500MB" or "3 GB" into bytes.
func ParseMemory(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("memory size %q: want a number and a unit, e.g. 2GiB or 1500MB", s)
	}
	n, err := strconv.ParseFloat(t[:i], 64)
	unit, ok := memoryUnits[strings.TrimSpace(t[i:])]
	if err != nil || !ok || n <= 0 {
		return 0, fmt.Errorf("memory size %q: want a number and a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	return int64(n * unit), nil
}

// loadShare is the part of the budget DuckDB's memory_limit gets while the ETL loads
// (DB.LimitForLoad). DuckDB's RSS overshoots its limit most during the big joins, window passes
// and inserts of a load: measured at 1M cases (`ltc etl run`, 5.1M events, 2 shared cores), the
// load peaked at 1.99 GiB RSS with three quarters of 2 GiB (5:42), at 1.18 GiB with 768 MiB
// (0.375; 2:13), at 759 MiB with a quarter (512 MiB; 2:47): the machine's load varied. With the
// allocator returning freed memory (Open's settings) and a quarter: 719 MiB, 46 s (2026-12-03).
const loadShare = 0.25

// duckDBMemoryLimit is DuckDB's memory_limit setting for a process memory budget.
func duckDBMemoryLimit(budget string) (string, error) {
	return memoryShare(budget, duckDBShare)
}

// memoryShare is share of budget as a DuckDB memory_limit setting.
func memoryShare(budget string, share float64) (string, error) {
	b, err := ParseMemory(budget)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%dKiB", int64(float64(b)*share)>>10), nil
}

// GoMemoryLimit is the Go heap's soft limit (runtime/debug.SetMemoryLimit) for a process memory
// budget ("" means 2GiB): the quarter DuckDB's memory_limit leaves, so API answers, caches and
// the ETL's Go side give memory back (the garbage collector works harder) before the process as a
// whole outgrows its budget.
func GoMemoryLimit(budget string) (int64, error) {
	if budget == "" {
		budget = "2GiB"
	}
	b, err := ParseMemory(budget)
	if err != nil {
		return 0, err
	}
	return int64(float64(b) * (1 - duckDBShare)), nil
}
