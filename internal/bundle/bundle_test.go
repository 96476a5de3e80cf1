package bundle

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestServe(t *testing.T) {
	js := strings.Repeat("console.log('ltc');\n", 200)
	s := Load(fstest.MapFS{"dist/app.js": {Data: []byte(js)}}, "dist", "app.js", "app.css")
	if len(s) != 1 {
		t.Fatalf("loaded %d assets, want 1 (app.css is missing)", len(s))
	}
	url := s.URL("/assets/", "app.js")
	if !strings.HasPrefix(url, "/assets/app.js?v=") || len(url) != len("/assets/app.js?v=")+16 {
		t.Errorf("URL %q", url)
	}
	get := func(target, enc string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, target, nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		if !s.Serve(w, r, "app.js") {
			t.Fatal("app.js not served")
		}
		return w
	}
	plain := get("/assets/app.js", "")
	if plain.Body.String() != js || plain.Header().Get("Cache-Control") != "no-cache" ||
		!strings.HasPrefix(plain.Header().Get("Content-Type"), "text/javascript") {
		t.Errorf("plain: %v %d", plain.Header(), plain.Body.Len())
	}
	zipped := get(url, "br, gzip")
	if zipped.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(zipped.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("gzip headers: %v", zipped.Header())
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != js || zipped.Body.Len() >= len(js) || s.GzippedSize() != zipped.Body.Len() {
		t.Errorf("gzip body: %d bytes of %d", zipped.Body.Len(), len(js))
	}
	if get(url, "gzip;q=0").Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 must get the plain body")
	}
	if s.Serve(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil), "nope.js") {
		t.Error("a missing asset was served")
	}
}
