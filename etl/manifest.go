package etl

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// fileInfo identifies one version of a source file.
type fileInfo struct {
	path    string
	size    int64
	modTime time.Time
	sha256  string
	// loaded: the manifest holds an earlier version of the file, whose rows the merge replaces
	// (a new file has none to delete).
	loaded bool
}

// errFileChanged marks a source file that changed between listing and reading (a producer still
// writing it, or a truncation); the run fails without loading it and the next run retries.
var errFileChanged = errors.New("source file changed while it was being read; nothing of it was loaded, the next run retries it")

// check reports whether the file on disk is still the version f was fingerprinted from.
func (f fileInfo) check() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return fmt.Errorf("source file: %w", err)
	}
	if st.Size() != f.size || !st.ModTime().Equal(f.modTime) {
		return fmt.Errorf("%w (size %d → %d bytes)", errFileChanged, f.size, st.Size())
	}
	return nil
}

// listFiles expands a glob (sorted, files only) and fingerprints each match.
func listFiles(pattern string) ([]fileInfo, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	sort.Strings(matches)
	var out []fileInfo
	for _, m := range matches {
		abs, err := filepath.Abs(m)
		if err != nil {
			return nil, err
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, err
		}
		if st.IsDir() {
			continue
		}
		sum, err := fileSHA256(abs)
		if err != nil {
			return nil, err
		}
		f := fileInfo{path: abs, size: st.Size(), modTime: st.ModTime(), sha256: sum}
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", abs, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unchanged reports whether the manifest already holds this exact version of the file for job,
// and marks f loaded when it holds any version.
func unchanged(ctx context.Context, conn *sql.Conn, job string, f *fileInfo) (bool, error) {
	var sum string
	var size int64
	err := conn.QueryRowContext(ctx, "SELECT sha256, size FROM etl_files WHERE job = $1 AND path = $2", job, f.path).Scan(&sum, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read manifest: %w", err)
	}
	f.loaded = true
	return sum == f.sha256 && size == f.size, nil
}
