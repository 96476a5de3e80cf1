package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

func runSnapshot(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("snapshot", stderr)
	wh := addWarehouseFlags(fs, "database file (overrides the config)")
	out := fs.String("out", "", "snapshot folder (required); the new copy is published as OUT/current")
	keep := fs.Int("keep", 2, "older snapshots to keep besides the current one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, *out); err != nil {
		return err
	}
	db, err := wh.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	path, err := schema.Snapshot(ctx, db, *out)
	if err != nil {
		return err
	}
	if err := schema.PruneSnapshots(*out, *keep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "snapshot %s published in %.2fs; serve it with: ltc serve --read-only --db %s\n", path, time.Since(start).Seconds(), *out)
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("export", stderr)
	wh := addWarehouseFlags(fs, "database file (overrides the config)")
	out := fs.String("parquet", "", "folder for the Hive-partitioned Parquet export (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, *out); err != nil {
		return err
	}
	db, err := wh.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	rows, err := schema.ExportParquet(ctx, db, *out)
	if err != nil {
		return err
	}
	tables := make([]string, 0, len(rows))
	for t := range rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, t := range tables {
		fmt.Fprintf(stdout, "%-18s %10d rows\n", t, rows[t])
	}
	fmt.Fprintf(stdout, "exported to %s in %.2fs (Hive-partitioned by month)\n", *out, time.Since(start).Seconds())
	return nil
}
