package main

import (
	"context"
	"flag"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/schema"
)

// warehouseFlags are the --config and --db flags of the commands that work on a warehouse file
// (migrate, snapshot, export, backup, restore).
type warehouseFlags struct {
	config, db *string
}

// addWarehouseFlags defines --config and --db on fs; dbHelp describes --db.
func addWarehouseFlags(fs *flag.FlagSet, dbHelp string) warehouseFlags {
	return warehouseFlags{
		config: fs.String("config", "ltc.yaml", "config file"),
		db:     fs.String("db", "", dbHelp),
	}
}

// target returns the database file: --db, else the one the config names, with the config's
// DuckDB settings (none for --db).
func (w warehouseFlags) target() (string, schema.Options, error) {
	if *w.db != "" {
		return *w.db, schema.Options{}, nil
	}
	cfg, err := config.Load(*w.config)
	if err != nil {
		return "", schema.Options{}, err
	}
	return cfg.Resolve(cfg.Database.Path), schema.Options{MemoryLimit: cfg.Database.MemoryLimit,
		Threads: cfg.Database.Threads, TempDirectory: cfg.Resolve(cfg.Database.TempDirectory)}, nil
}

// open opens (and migrates) the warehouse read-write.
func (w warehouseFlags) open(ctx context.Context) (*schema.DB, error) {
	path, opts, err := w.target()
	if err != nil {
		return nil, err
	}
	return schema.Open(ctx, path, opts)
}

// required reports a usage error (after printing the usage) when a required flag is empty.
func required(fs *flag.FlagSet, value string) error {
	if value == "" {
		fs.Usage()
		return errUsage
	}
	return nil
}
