// Package web serves the executive dashboards: a single-page app (dist/app.js and dist/app.css,
// bundled from src/ by `npm run build` here, with Apache ECharts) embedded in the binary, so the
// dashboards work offline. The app reads only the public GraphQL API. Without a bundle the handler
// serves dist/index.html, which says how to build it.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/ltc-analytics/ltc/internal/bundle"
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
	assets bundle.Set
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
	h := &Handler{assets: bundle.Load(dist, "dist", ScriptFile, StyleFile)}
	if !h.Built() {
		h.page, _ = fs.ReadFile(dist, "dist/index.html")
		return h
	}
	var buf bytes.Buffer
	_ = pageTemplate.Execute(&buf, map[string]string{
		"GraphQL": opts.GraphQL, "Currency": opts.Currency,
		"Script": h.assets.URL(assetPrefix, ScriptFile), "Style": h.assets.URL(assetPrefix, StyleFile),
	})
	h.page = buf.Bytes()
	return h
}

// Built reports whether the app bundle was embedded (false: only the placeholder page).
func (h *Handler) Built() bool {
	return len(h.assets) == 2
}

// GzippedSize is the number of bytes the browser downloads for the script and stylesheet
// (gzip-compressed as served); 0 without a bundle.
func (h *Handler) GzippedSize() int { return h.assets.GzippedSize() }

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
		if !h.assets.Serve(w, r, strings.TrimPrefix(p, assetPrefix)) {
			http.NotFound(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}
