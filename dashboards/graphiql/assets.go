// Package graphiql serves GraphiQL, bundled from npm at build time (dist/graphiql.js and
// dist/graphiql.css, made by `npm run build` here) and embedded in the binary, so the page works
// offline: nothing loads from a CDN. Without a bundle it serves dist/index.html, which says how to build it.
package graphiql

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/ltc-analytics/ltc/internal/bundle"
)

//go:embed dist
var dist embed.FS

// Asset file names inside dist/.
const (
	scriptFile = "graphiql.js"
	styleFile  = "graphiql.css"
)

// Options configures the handler.
type Options struct {
	// Endpoint is the GraphQL URL the page queries (default "/graphql").
	Endpoint string
	// AssetPrefix is the URL path under which the handler is mounted for its assets (default "/graphiql/").
	AssetPrefix string
}

// Handler serves the GraphiQL page and its assets.
type Handler struct {
	page   []byte
	assets bundle.Set
	prefix string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ltc GraphiQL</title>
<link rel="stylesheet" href="{{.Style}}">
<style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body data-endpoint="{{.Endpoint}}">
<div id="graphiql">Loading GraphiQL…</div>
<script src="{{.Script}}"></script>
</body>
</html>
`))

// New returns the handler. It serves assets for requests whose path ends in graphiql.js or graphiql.css
// and the page for any other GET.
func New(opts Options) *Handler {
	if opts.Endpoint == "" {
		opts.Endpoint = "/graphql"
	}
	if opts.AssetPrefix == "" {
		opts.AssetPrefix = "/graphiql/"
	}
	h := &Handler{assets: bundle.Load(dist, "dist", scriptFile, styleFile), prefix: opts.AssetPrefix}
	if !h.Built() {
		h.page, _ = fs.ReadFile(dist, "dist/index.html")
		return h
	}
	var buf bytes.Buffer
	_ = pageTemplate.Execute(&buf, map[string]string{
		"Endpoint": opts.Endpoint, "Script": h.assets.URL(opts.AssetPrefix, scriptFile), "Style": h.assets.URL(opts.AssetPrefix, styleFile),
	})
	h.page = buf.Bytes()
	return h
}

// Built reports whether the GraphiQL bundle was embedded (false: only the placeholder page).
func (h *Handler) Built() bool {
	return len(h.assets) == 2
}

// ServeHTTP serves an asset or the page.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if strings.HasPrefix(r.URL.Path, h.prefix) && h.assets.Serve(w, r, path.Base(r.URL.Path)) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(h.page)
}
