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
)

// fileInfo identifies one version of a source file.
type fileInfo struct {
	path   string
	size   int64
	sha256 string
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
		out = append(out, fileInfo{path: abs, size: st.Size(), sha256: sum})
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

// unchanged reports whether the manifest already holds this exact version of the file for job.
func unchanged(ctx context.Context, conn *sql.Conn, job string, f fileInfo) (bool, error) {
	var sum string
	var size int64
	err := conn.QueryRowContext(ctx, "SELECT sha256, size FROM etl_files WHERE job = $1 AND path = $2", job, f.path).Scan(&sum, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read manifest: %w", err)
	}
	return sum == f.sha256 && size == f.size, nil
}
