package etl

import (
	"bytes"
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
	"strings"
	"time"
)

// Manifest states (etl_files.state).
const (
	// statePresent: the file's rows are loaded.
	statePresent = "present"
	// stateEmpty: the file is 0 bytes or holds no record (only a header); rows it loaded before stay.
	stateEmpty = "empty"
	// stateGone: the file was deleted; the rows it loaded stay.
	stateGone = "gone"
	// stateRetracted: the file was deleted or emptied and its rows removed (on_missing: retract).
	stateRetracted = "retracted"
)

// fileInfo identifies one version of a source file.
type fileInfo struct {
	// path is where the file is read; name is how the warehouse knows it (etl_files.path,
	// the tables' _file, quarantine.file): its path relative to the config folder, with /.
	path, name string
	size       int64
	modTime    time.Time
	sha256     string
	// lines counts the file's newline bytes (for CSV line numbers).
	lines int64
	// loaded: the manifest holds an earlier version of the file, whose rows the merge replaces
	// (a new file has none to delete); prevRows is the rows it recorded then.
	loaded   bool
	prevRows int64
}

// manifestEntry is one row of etl_files.
type manifestEntry struct {
	name, sha256, state string
	size, rows          int64
}

// rename is a file known by content under a new name (a moved or renamed file): its rows and
// manifest entry move to the new name and nothing reloads.
type rename struct {
	from manifestEntry
	to   fileInfo
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

// listFiles expands a glob (sorted, files only) and fingerprints each match. Each file is named
// by its path relative to root (absolute when root is ""); a match that reaches through a
// symbolic link to a file outside root is refused.
func listFiles(pattern, root string) ([]fileInfo, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("glob %q: %w", pattern, err)
	}
	sort.Strings(matches)
	realRoot := ""
	if root != "" {
		if realRoot, err = filepath.EvalSymlinks(root); err != nil {
			return nil, fmt.Errorf("config folder: %w", err)
		}
	}
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
		name := abs
		if root != "" {
			if name, err = relName(root, realRoot, abs); err != nil {
				return nil, err
			}
		}
		f := fileInfo{path: abs, name: name, size: st.Size(), modTime: st.ModTime()}
		if f.sha256, f.lines, err = fingerprint(abs); err != nil {
			return nil, err
		}
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, f)
	}
	return out, nil
}

// relName is abs relative to root, with forward slashes. A path that resolves through a symbolic
// link to a place outside root (realRoot is root with its own links resolved) is an error.
func relName(root, realRoot, abs string) (string, error) {
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return "", fmt.Errorf("name %s relative to %s: %w", abs, root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", abs, err)
	}
	realRel, err := filepath.Rel(realRoot, real)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", abs, err)
	}
	if realRel != rel && outside(realRel) {
		return "", fmt.Errorf("source file %s is a symbolic link to %s, outside the config folder %s: refused", rel, real, root)
	}
	return filepath.ToSlash(rel), nil
}

// outside reports whether a relative path leaves its base folder.
func outside(rel string) bool {
	return rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel)
}

// fingerprint returns the sha256 of the file and its number of newline bytes.
func fingerprint(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	var lines int64
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, fmt.Errorf("read %s: %w", path, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), lines, nil
}

// readManifest returns the manifest entries of job by name.
func readManifest(ctx context.Context, conn *sql.Conn, job string) (map[string]manifestEntry, error) {
	rows, err := conn.QueryContext(ctx, "SELECT path, sha256, coalesce(state, 'present'), size, rows FROM etl_files WHERE job = $1", job)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer rows.Close()
	out := map[string]manifestEntry{}
	for rows.Next() {
		var e manifestEntry
		if err := rows.Scan(&e.name, &e.sha256, &e.state, &e.size, &e.rows); err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		out[e.name] = e
	}
	return out, rows.Err()
}

// plan compares the listed files with the manifest of their job. A file is known by its name
// and, under a new name, by its content: changed lists the files to load (new, changed, or
// back after being gone or emptied), renamed the files known by content whose old name is no
// longer listed (a moved folder from before names were relative, a renamed file), gone the
// entries whose file disappeared since the last run.
func plan(files []fileInfo, manifest map[string]manifestEntry) (changed []fileInfo, renamed []rename, gone []manifestEntry) {
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.name] = true
	}
	// Entries a new name may take over: not listed, their rows in the warehouse.
	byContent := map[string][]manifestEntry{}
	for _, e := range manifest {
		if !listed[e.name] && (e.state == statePresent || e.state == stateGone) {
			byContent[e.sha256] = append(byContent[e.sha256], e)
		}
	}
	for k := range byContent {
		sort.Slice(byContent[k], func(i, j int) bool { return byContent[k][i].name < byContent[k][j].name })
	}
	taken := map[string]bool{}
	for _, f := range files {
		if e, ok := manifest[f.name]; ok {
			f.loaded, f.prevRows = true, e.rows
			// A gone file that is back reloads (with on_missing: retract its sha256 was cleared).
			if e.state == stateGone || e.sha256 != f.sha256 || e.size != f.size {
				changed = append(changed, f)
			}
			continue
		}
		if cands := byContent[f.sha256]; len(cands) > 0 && cands[0].size == f.size {
			byContent[f.sha256] = cands[1:]
			taken[cands[0].name] = true
			renamed = append(renamed, rename{from: cands[0], to: f})
			continue
		}
		changed = append(changed, f)
	}
	var names []string
	for name, e := range manifest {
		if !listed[name] && !taken[name] && e.state != stateGone && e.state != stateRetracted {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		gone = append(gone, manifest[n])
	}
	return changed, renamed, gone
}
