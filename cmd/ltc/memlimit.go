package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/schema"
)

// setGoMemoryLimit gives the Go heap the part of database.memory_limit (the process budget) that
// DuckDB does not get (schema.GoMemoryLimit), unless the GOMEMLIMIT environment variable set one
// already. It returns the limit in effect.
func setGoMemoryLimit(cfg *config.Config, logger *slog.Logger) (int64, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		limit := debug.SetMemoryLimit(-1)
		logger.Info("go memory limit from GOMEMLIMIT", "bytes", limit)
		return limit, nil
	}
	limit, err := schema.GoMemoryLimit(cfg.Database.MemoryLimit)
	if err != nil {
		return 0, fmt.Errorf("database.memory_limit: %w", err)
	}
	debug.SetMemoryLimit(limit)
	logger.Debug("go memory limit set", "bytes", limit, "memory_limit", cfg.Database.MemoryLimit)
	return limit, nil
}
