package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestClientMistakesAreNotServerErrors posts the mistakes an outside tester made over HTTP: each
// must answer a client code (not INTERNAL), a message that does not echo a huge body, and leave no
// ERROR line — and at most about a kilobyte per request — in the server log.
func TestClientMistakesAreNotServerErrors(t *testing.T) {
	db, eng := newKPIFixture(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: logger}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: logger})
	srv := httptest.NewServer(h)
	defer srv.Close()

	huge := `{"query": "{ health { status } }", "variables": "` + strings.Repeat("x", 900<<10) // unterminated
	for _, tc := range []struct{ name, body, want string }{
		{"batched array", `[{"query":"{ health { status } }"},{"query":"{ health { status } }"}]`, "BAD_REQUEST"},
		{"malformed 900 KB", huge, "BAD_REQUEST"},
		{"not JSON", `query { health { status } }`, "BAD_REQUEST"},
		{"APQ hash mismatch", `{"query":"{ health { status } }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"` +
			strings.Repeat("0", 64) + `"}}}`, "BAD_REQUEST"},
		{"windowDays 2000000000", `{"query":"{ funnel(scope: ` + jsonEscape(march) + `}, windowDays: 2000000000) { total { stages { stage } } } }"}`, "BAD_SCOPE"},
		{"from year 1", `{"query":"{ winRate(scope: {from: \"0001-01-01T00:00:00Z\", to: \"2025-03-01T00:00:00Z\"}) { total { value } } }"}`, "BAD_SCOPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.String())
			resp, err := http.Post(srv.URL, "application/json", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var r struct{ Errors gqlerror.List }
			if err := json.Unmarshal(b, &r); err != nil || len(r.Errors) == 0 {
				t.Fatalf("HTTP %d: %.300s", resp.StatusCode, b)
			}
			if got := r.Errors[0].Extensions["code"]; got != tc.want {
				t.Errorf("code %v, want %s: %.300s", got, tc.want, r.Errors[0].Message)
			}
			if resp.StatusCode >= 500 {
				t.Errorf("HTTP %d", resp.StatusCode)
			}
			if len(r.Errors[0].Message) > 1100 {
				t.Errorf("message of %d bytes echoes the body", len(r.Errors[0].Message))
			}
			if strings.Contains(tc.name, "from") && strings.Contains(r.Errors[0].Message, "required") {
				t.Errorf("message %q: from was given", r.Errors[0].Message)
			}
			logged := logs.String()[before:]
			if strings.Contains(logged, "level=ERROR") {
				t.Errorf("logged as a server error:\n%.500s", logged)
			}
			if len(logged) > 1500 {
				t.Errorf("logged %d bytes for one request", len(logged))
			}
		})
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
