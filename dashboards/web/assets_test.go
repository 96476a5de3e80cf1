package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/internal/testenv"
)

// maxGzippedBytes is the budget for the embedded JavaScript and CSS, gzip-compressed as served.
// ECharts (core, bar and line charts, grid, tooltip, legend, canvas renderer) is most of it.
const maxGzippedBytes = 215 << 10

func get(t *testing.T, h http.Handler, target string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestPageUsesOnlyLocalAssets(t *testing.T) {
	h := New(Options{})
	page := get(t, h, "/")
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	body := page.Body.String()
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
		t.Errorf("page references a remote asset:\n%s", body)
	}
	if !h.Built() {
		if !strings.Contains(body, "make build") {
			t.Errorf("placeholder page does not say how to build:\n%s", body)
		}
		testenv.Missing(t, "dashboards not built (npm ci && npm run build in dashboards/web); placeholder checked")
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	for _, want := range []string{`data-graphql="/graphql"`, `data-currency="EUR"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	refs := regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 2 {
		t.Fatalf("want a script and a stylesheet under /assets/, got %v", refs)
	}
	for _, ref := range refs {
		a := get(t, h, ref[1])
		if a.Code != http.StatusOK || a.Body.Len() < 1000 || !strings.Contains(a.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("asset %s: %d, %d bytes, %q", ref[1], a.Code, a.Body.Len(), a.Header().Get("Cache-Control"))
		}
	}
}

func TestAssetsGzipped(t *testing.T) {
	h := New(Options{})
	if !h.Built() {
		testenv.Missing(t, "dashboards not built (make build)")
	}
	plain := get(t, h, "/assets/app.js")
	zipped := get(t, h, "/assets/app.js", "Accept-Encoding", "gzip, deflate")
	if zipped.Header().Get("Content-Encoding") != "gzip" || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("encodings: %q and %q", zipped.Header().Get("Content-Encoding"), plain.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != plain.Body.String() {
		t.Error("gzipped script differs from the plain one")
	}
	if w := get(t, h, "/assets/app.js", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip sent although refused")
	}
}

// TestPayloadBudget keeps the download of a first visit modest.
func TestPayloadBudget(t *testing.T) {
	h := New(Options{})
	if !h.Built() {
		testenv.Missing(t, "dashboards not built (make build)")
	}
	n := h.GzippedSize()
	t.Logf("embedded JS+CSS: %d bytes gzipped (JS %d, CSS %d bytes plain); budget %d", n,
		len(h.assets[ScriptFile].Body), len(h.assets[StyleFile].Body), maxGzippedBytes)
	if n > maxGzippedBytes {
		t.Errorf("embedded JS+CSS is %d bytes gzipped, over the budget of %d", n, maxGzippedBytes)
	}
	for _, remote := range []string{"https://", "http://", "//cdn"} {
		if strings.Contains(string(h.assets[StyleFile].Body), "url("+remote) {
			t.Errorf("stylesheet loads %s…", remote)
		}
	}
}

func TestRoutes(t *testing.T) {
	h := New(Options{})
	for target, code := range map[string]int{"/": 200, "/index.html": 200, "/nope": 404, "/assets/nope.js": 404} {
		if w := get(t, h, target); w.Code != code {
			t.Errorf("GET %s: %d, want %d", target, w.Code, code)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}
