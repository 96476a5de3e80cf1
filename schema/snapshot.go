package schema

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// CurrentFile names the file in a snapshot folder that holds the name of the newest snapshot.
const CurrentFile = "current"

// Snapshot writes a consistent, complete copy of the warehouse into dir as a new DuckDB file and
// then publishes it by atomically replacing dir/current with its name. It runs on the writer
// connection, so it never interleaves with an ETL commit; readers of the copy see exactly one
// committed state. It returns the snapshot's path.
func Snapshot(ctx context.Context, db *DB, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("schema.Snapshot: %w", err)
	}
	v, err := DataVersion(ctx, db.Write)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("ltc-v%d-%s.duckdb", v, time.Now().UTC().Format("20060102T150405.000000000"))
	path := filepath.Join(dir, name)
	conn, err := db.Write.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("schema.Snapshot: %w", err)
	}
	defer conn.Close()
	// ATTACH takes no bound parameters; the path is ours (dir + a generated name), quoted as a literal.
	if _, err := conn.ExecContext(ctx, "ATTACH '"+sqlString(path)+"' AS ltc_snapshot"); err != nil {
		return "", fmt.Errorf("schema.Snapshot: attach: %w", err)
	}
	var catalog string
	copyErr := conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&catalog)
	if copyErr == nil {
		_, copyErr = conn.ExecContext(ctx, "COPY FROM DATABASE "+quoteIdent(catalog)+" TO ltc_snapshot")
	}
	_, detachErr := conn.ExecContext(context.WithoutCancel(ctx), "DETACH ltc_snapshot")
	if err := errors.Join(copyErr, detachErr); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("schema.Snapshot: copy: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // a copy of the warehouse: owner-only like it
		os.Remove(path)
		return "", fmt.Errorf("schema.Snapshot: %w", err)
	}
	if err := publish(dir, name); err != nil {
		return "", err
	}
	return path, nil
}

// quoteIdent quotes an identifier for DuckDB.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// publish points dir/current at name: write a temp file, then rename over current (atomic).
func publish(dir, name string) error {
	tmp, err := os.CreateTemp(dir, ".current-*")
	if err != nil {
		return fmt.Errorf("schema.Snapshot: publish: %w", err)
	}
	if _, err := tmp.WriteString(name + "\n"); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("schema.Snapshot: publish: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("schema.Snapshot: publish: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, CurrentFile)); err != nil {
		return fmt.Errorf("schema.Snapshot: publish: %w", err)
	}
	return nil
}

// CurrentSnapshot resolves a snapshot path: a DuckDB file is returned as is; a snapshot folder
// resolves to the file its current pointer names.
func CurrentSnapshot(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("schema.CurrentSnapshot: %w", err)
	}
	if !st.IsDir() {
		return path, nil
	}
	b, err := os.ReadFile(filepath.Join(path, CurrentFile))
	if err != nil {
		return "", fmt.Errorf("schema.CurrentSnapshot: %s has no published snapshot: %w", path, err)
	}
	return filepath.Join(path, strings.TrimSpace(string(b))), nil
}

// PruneSnapshots deletes snapshot files in dir other than the current one and the keep newest.
func PruneSnapshots(dir string, keep int) error {
	cur, err := CurrentSnapshot(dir)
	if err != nil {
		return err
	}
	matches, err := filepath.Glob(filepath.Join(dir, "ltc-v*.duckdb"))
	if err != nil {
		return fmt.Errorf("schema.PruneSnapshots: %w", err)
	}
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && m != cur {
			files = append(files, file{m, st.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.After(files[j].mod) })
	for i, f := range files {
		if i >= keep {
			os.Remove(f.path)
			os.Remove(f.path + ".wal")
		}
	}
	return nil
}
