package graphiql

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/internal/testenv"
)

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

func TestPageUsesOnlyLocalAssets(t *testing.T) {
	h := New(Options{})
	page := get(t, h, "/graphql")
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", page.Code, page.Header().Get("Content-Type"))
	}
	body := page.Body.String()
	if strings.Contains(body, "//") && regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
		t.Errorf("page references a remote asset:\n%s", body)
	}
	if !h.Built() {
		if !strings.Contains(body, "make build") {
			t.Errorf("placeholder page does not say how to build:\n%s", body)
		}
		testenv.Missing(t, "GraphiQL bundle not built (npm run build in dashboards/graphiql); placeholder checked")
	}
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(refs) != 2 {
		t.Fatalf("want a script and a stylesheet, got %v", refs)
	}
	for _, ref := range refs {
		if !strings.HasPrefix(ref[1], "/graphiql/") {
			t.Errorf("asset %s is not local", ref[1])
		}
		a := get(t, h, ref[1])
		if a.Code != http.StatusOK || a.Body.Len() < 1000 {
			t.Errorf("asset %s: %d, %d bytes", ref[1], a.Code, a.Body.Len())
		}
	}
	if !strings.Contains(body, `data-endpoint="/graphql"`) {
		t.Errorf("page does not name the endpoint:\n%s", body)
	}
}

func TestBundleLoadsNothingRemote(t *testing.T) {
	h := New(Options{})
	if !h.Built() {
		testenv.Missing(t, "GraphiQL bundle not built (make build)")
	}
	css := string(h.assets[styleFile].Body)
	for _, m := range regexp.MustCompile(`url\(\s*['"]?([^'")]*)`).FindAllStringSubmatch(css, -1) {
		if !strings.HasPrefix(m[1], "data:") && !strings.HasPrefix(m[1], "#") {
			t.Errorf("stylesheet loads %q", m[1])
		}
	}
	if strings.Contains(css, "@import") {
		t.Error("stylesheet has an @import")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	w := httptest.NewRecorder()
	New(Options{}).ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}
}
