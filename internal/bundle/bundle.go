// Package bundle serves front-end files bundled from npm at build time and embedded with go:embed
// (the dashboards and GraphiQL): content type, a content-hash ETag for cache busting, and a gzip
// copy made once at start for clients that accept it.
package bundle

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Asset is one embedded file, ready to serve.
type Asset struct {
	Body, Gzipped []byte
	ContentType   string
	// ETag is a quoted prefix of the content's SHA-256.
	ETag string
}

// Set holds the assets of one bundle by file name.
type Set map[string]Asset

// Load reads the named files from dir in fsys; files that are missing (the bundle was not built)
// are left out, so len(set) tells whether the bundle is complete.
func Load(fsys fs.FS, dir string, names ...string) Set {
	s := Set{}
	for _, name := range names {
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			continue
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		s[name] = Asset{Body: body, Gzipped: compress(body), ContentType: ct, ETag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return s
}

// URL is the asset's address under prefix, with a version parameter from its content, so a new
// build is never served from a stale browser cache.
func (s Set) URL(prefix, name string) string {
	return strings.TrimSuffix(prefix, "/") + "/" + name + "?v=" + strings.Trim(s[name].ETag, `"`)
}

// GzippedSize is the number of bytes a browser downloads for the whole set, gzip-compressed.
func (s Set) GzippedSize() int {
	n := 0
	for _, a := range s {
		n += len(a.Gzipped)
	}
	return n
}

// Serve writes the named asset (gzip-compressed when the client accepts it) and reports whether
// it exists. Versioned URLs (?v=…) are cached for a year; others are revalidated by ETag.
func (s Set) Serve(w http.ResponseWriter, r *http.Request, name string) bool {
	a, ok := s[name]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("ETag", a.ETag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") != "" {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body := a.Body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.Gzipped
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	return true
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
