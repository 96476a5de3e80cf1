// Package web serves the executive dashboards: a single-page app (dist/app.js and dist/app.css,
// bundled from src/ by `npm run build` here, with Apache ECharts) embedded in the binary, so the
// dashboards work offline. The app reads only the public GraphQL API. Without a bundle the handler
// serves dist/index.html, which says how to build it.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// Asset file names inside dist/.
const (
	ScriptFile = "app.js"
	StyleFile  = "app.css"
)

// assetPrefix is the URL path the assets are served under.
const assetPrefix = "/assets/"

// Options configures the handler.
type Options struct {
	// GraphQL is the endpoint the app queries (default "/graphql").
	GraphQL string
	// Currency is the ISO code amounts are shown in (default "EUR"); the API sums amounts as stored.
	Currency string
}

// Handler serves the app page at "/" and its assets under /assets/.
type Handler struct {
	page   []byte
	assets map[string]asset
}

type asset struct {
	body, gzipped []byte
	contentType   string
	etag          string
}

// contentSecurityPolicy allows nothing but this origin: no CDN, no remote fonts, no inline scripts.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'"

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lead-to-Cash</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{{.Style}}">
</head>
<body data-graphql="{{.GraphQL}}" data-currency="{{.Currency}}">
<p style="margin:3em auto;max-width:30em;font-family:sans-serif;color:#64748b">Loading the Lead-to-Cash dashboards…</p>
<noscript><p style="margin:3em auto;max-width:30em;font-family:sans-serif">The dashboards need JavaScript. The data is also available from the GraphQL API at <a href="{{.GraphQL}}">{{.GraphQL}}</a>.</p></noscript>
<script src="{{.Script}}" defer></script>
</body>
</html>
`))

// New returns the handler.
func New(opts Options) *Handler {
	if opts.GraphQL == "" {
		opts.GraphQL = "/graphql"
	}
	if opts.Currency == "" {
		opts.Currency = "EUR"
	}
	h := &Handler{assets: map[string]asset{}}
	for name, ct := range map[string]string{ScriptFile: "text/javascript; charset=utf-8", StyleFile: "text/css; charset=utf-8"} {
		body, err := fs.ReadFile(dist, "dist/"+name)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(body)
		h.assets[name] = asset{body: body, gzipped: compress(body), contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	if !h.Built() {
		h.page, _ = fs.ReadFile(dist, "dist/index.html")
		return h
	}
	url := func(name string) string { return assetPrefix + name + "?v=" + h.assets[name].etag[1:9] }
	var buf bytes.Buffer
	_ = pageTemplate.Execute(&buf, map[string]string{
		"GraphQL": opts.GraphQL, "Currency": opts.Currency, "Script": url(ScriptFile), "Style": url(StyleFile),
	})
	h.page = buf.Bytes()
	return h
}

func compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Built reports whether the app bundle was embedded (false: only the placeholder page).
func (h *Handler) Built() bool {
	return len(h.assets) == 2
}

// GzippedSize is the number of bytes the browser downloads for the script and stylesheet
// (gzip-compressed as served); 0 without a bundle.
func (h *Handler) GzippedSize() int {
	n := 0
	for _, a := range h.assets {
		n += len(a.gzipped)
	}
	return n
}

// ServeHTTP serves the page at "/" (and "/index.html"), assets under /assets/, and 404 elsewhere.
// Assets are sent gzip-compressed to clients that accept it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch p := r.URL.Path; {
	case p == "/" || p == "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		if r.Method == http.MethodGet {
			w.Write(h.page)
		}
	case strings.HasPrefix(p, assetPrefix):
		a, ok := h.assets[strings.TrimPrefix(p, assetPrefix)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("ETag", a.etag)
		w.Header().Set("Vary", "Accept-Encoding")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		body := a.body
		if acceptsGzip(r) {
			w.Header().Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	default:
		http.NotFound(w, r)
	}
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
