package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/graph"
)

// tokens are one token per role, and a viewer limited to the North business unit.
type tokens struct {
	viewer, analyst, admin, north string
	keyring                       *auth.Keyring
}

func newTokens(t *testing.T) tokens {
	t.Helper()
	var tk tokens
	var specs []auth.TokenSpec
	for _, x := range []struct {
		dst        *string
		name, role string
		bu         []string
	}{{&tk.viewer, "viewer", "viewer", nil}, {&tk.analyst, "analyst", "analyst", nil},
		{&tk.admin, "admin", "admin", nil}, {&tk.north, "north", "admin", []string{"North"}}} {
		tok, hash, err := auth.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		*x.dst = tok
		specs = append(specs, auth.TokenSpec{Name: x.name, Hash: hash, Role: x.role, BusinessUnits: x.bu})
	}
	k, err := auth.NewKeyring(specs)
	if err != nil {
		t.Fatal(err)
	}
	tk.keyring = k
	return tk
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// securedServer starts a server with authentication, the real GraphQL handler and sec's other settings.
func securedServer(t *testing.T, sec Security) (string, tokens, *prometheus.Registry) {
	t.Helper()
	tk := newTokens(t)
	if sec.Keyring == nil {
		sec.Keyring = tk.keyring
	}
	db := openDB(t)
	reg := NewRegistry()
	if sec.Refusals == nil {
		sec.Refusals = NewRefusals(reg)
	}
	refusals := sec.Refusals
	gql := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, Version: "test"}), graph.HandlerOptions{
		Logger: quiet(), EnforceRoles: sec.Keyring != nil,
		Refused: func(ctx context.Context, c graph.Code) { refusals.Record(ctx, string(c)) },
	})
	base, _ := start(t, Options{DB: db, GraphQL: gql, Registry: reg, Logger: quiet(), Security: sec,
		UI: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("app")) })})
	return base, tk, reg
}

type req struct {
	method, path, accept, body, token string
	header                            map[string]string
	cookie                            *http.Cookie
}

func do(t *testing.T, client *http.Client, base string, q req) (*http.Response, string) {
	t.Helper()
	r, err := http.NewRequest(q.method, base+q.path, strings.NewReader(q.body))
	if err != nil {
		t.Fatal(err)
	}
	if q.accept != "" {
		r.Header.Set("Accept", q.accept)
	}
	if q.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if q.token != "" {
		r.Header.Set("Authorization", "Bearer "+q.token)
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	if q.cookie != nil {
		r.AddCookie(q.cookie)
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// code returns extensions.code of the first error of a GraphQL-shaped body.
func code(body string) string {
	var r struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &r) != nil || len(r.Errors) == 0 {
		return ""
	}
	return r.Errors[0].Extensions.Code
}

func refusals(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ltc_http_refusals_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no ltc_http_refusals_total{reason=%q}", reason)
	return 0
}

const healthQuery = `{"query":"{ health { status } }"}`

func TestEndpointsNeedAToken(t *testing.T) {
	base, tk, reg := securedServer(t, Security{})
	protected := []req{
		{method: "POST", path: "/graphql", body: healthQuery},
		{method: "GET", path: "/graphql?query=%7Bhealth%7Bstatus%7D%7D", accept: "application/json"},
		{method: "GET", path: "/graphql", accept: "text/html"}, // GraphiQL
		{method: "GET", path: "/graphiql/graphiql.js"},
		{method: "GET", path: "/metrics"},
	}
	for _, q := range protected {
		resp, body := do(t, nil, base, q)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s without a token: %d %q", q.method, q.path, resp.StatusCode, body)
		}
		if q.path == "/graphql" && q.method == "POST" && code(body) != CodeUnauthenticated {
			t.Errorf("POST /graphql without a token: body %s, want code UNAUTHENTICATED", body)
		}
		q.token = "ltc_not-a-token"
		if resp, _ := do(t, nil, base, q); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with an unknown token: %d", q.method, q.path, resp.StatusCode)
		}
		q.token = ""
		q.header = map[string]string{"Authorization": "Basic " + tk.admin}
		if resp, _ := do(t, nil, base, q); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with a Basic header: %d", q.method, q.path, resp.StatusCode)
		}
	}
	if got := refusals(t, reg, ReasonUnauthenticated); got != float64(3*len(protected)) {
		t.Errorf("unauthenticated refusals counted %v, want %d", got, 3*len(protected))
	}
	for _, q := range []req{{method: "GET", path: "/healthz"}, {method: "GET", path: "/readyz"},
		{method: "GET", path: "/"}, {method: "GET", path: "/auth/session"}} {
		if resp, body := do(t, nil, base, q); resp.StatusCode != http.StatusOK {
			t.Errorf("public %s: %d %q", q.path, resp.StatusCode, body)
		}
	}
	// With a good token of sufficient role.
	for _, q := range protected {
		q.token = tk.admin
		if resp, body := do(t, nil, base, q); resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s as admin: %d %.200s", q.method, q.path, resp.StatusCode, body)
		}
	}
}

func TestRolesOnEndpoints(t *testing.T) {
	base, tk, reg := securedServer(t, Security{})
	for _, c := range []struct {
		q     req
		token string
		want  int
	}{
		{req{method: "GET", path: "/graphql", accept: "text/html"}, tk.viewer, 403},
		{req{method: "GET", path: "/graphiql/graphiql.js"}, tk.viewer, 403},
		{req{method: "GET", path: "/graphql", accept: "text/html"}, tk.analyst, 200},
		{req{method: "POST", path: "/graphql", body: healthQuery}, tk.viewer, 200},
		{req{method: "GET", path: "/metrics"}, tk.viewer, 200},
		{req{method: "GET", path: "/metrics"}, tk.north, 403}, // gauges of every unit: no scoped token
	} {
		c.q.token = c.token
		if resp, body := do(t, nil, base, c.q); resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d (%.200s)", c.q.method, c.q.path, resp.StatusCode, c.want, body)
		}
	}
	// GraphQL fields: FORBIDDEN per field, the others still answer.
	resp, body := do(t, nil, base, req{method: "POST", path: "/graphql", token: tk.viewer,
		body: `{"query":"{ etlRuns { totalCount } quarantine { totalCount } }"}`})
	if resp.StatusCode != 200 || code(body) != "FORBIDDEN" || strings.Contains(body, "totalCount") {
		t.Errorf("viewer asking for etlRuns: %d %s", resp.StatusCode, body)
	}
	if _, body := do(t, nil, base, req{method: "POST", path: "/graphql", token: tk.north,
		body: `{"query":"{ etlRuns { totalCount } }"}`}); code(body) != "FORBIDDEN" {
		t.Errorf("scoped admin asking for etlRuns: %s", body)
	}
	if _, body := do(t, nil, base, req{method: "POST", path: "/graphql", token: tk.admin,
		body: `{"query":"{ etlRuns { totalCount } quarantine { totalCount } }"}`}); code(body) != "" {
		t.Errorf("admin asking for etlRuns: %s", body)
	}
	// 3 HTTP refusals + 1 per GraphQL request with forbidden fields (two fields count once).
	if got := refusals(t, reg, ReasonForbidden); got != 5 {
		t.Errorf("forbidden refusals counted %v, want 5", got)
	}
}

func TestSessions(t *testing.T) {
	base, tk, reg := securedServer(t, Security{})
	login := func(body string, header map[string]string) (*http.Response, string) {
		return do(t, nil, base, req{method: "POST", path: "/auth/login", body: body, header: header})
	}
	began := time.Now()
	resp, body := login(`{"token":"ltc_wrong"}`, nil)
	if resp.StatusCode != 401 || code(body) != CodeUnauthenticated || len(resp.Cookies()) != 0 {
		t.Errorf("bad token: %d %s %v", resp.StatusCode, body, resp.Cookies())
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("bad token answered after %v: no artificial delay expected", d)
	}
	if got := refusals(t, reg, ReasonUnauthenticated); got != 1 {
		t.Errorf("failed sign-in counted %v, want 1", got)
	}
	if resp, _ := do(t, nil, base, req{method: "POST", path: "/auth/login", body: "token=" + tk.viewer,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}); resp.StatusCode != 415 {
		t.Errorf("form-encoded sign-in: %d, want 415 (only JSON, which needs CORS cross-origin)", resp.StatusCode)
	}

	resp, body = login(`{"token":"`+tk.analyst+`"}`, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `"role":"analyst"`) || strings.Contains(body, tk.analyst) {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" ||
		cookie.Secure || cookie.MaxAge <= 0 || strings.Contains(cookie.Value, tk.analyst) {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure without TLS, a MaxAge", cookie)
	}
	session := &http.Cookie{Name: cookie.Name, Value: cookie.Value}

	graphql := req{method: "POST", path: "/graphql", body: healthQuery, cookie: session}
	if resp, body := do(t, nil, base, graphql); resp.StatusCode != 200 || code(body) != "" {
		t.Errorf("/graphql with the session: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, nil, base, req{method: "GET", path: "/graphql", accept: "text/html", cookie: session}); resp.StatusCode != 200 {
		t.Errorf("GraphiQL with an analyst session: %d", resp.StatusCode)
	}
	if _, body := do(t, nil, base, req{method: "GET", path: "/auth/session", cookie: session}); !strings.Contains(body, `"signedIn":true`) ||
		!strings.Contains(body, `"name":"analyst"`) {
		t.Errorf("/auth/session: %s", body)
	}
	// A cookie request from another origin (a page elsewhere that got the browser to send it).
	foreign := graphql
	foreign.header = map[string]string{"Origin": "https://evil.example"}
	if resp, body := do(t, nil, base, foreign); resp.StatusCode != 403 || code(body) != CodeCrossOrigin {
		t.Errorf("cross-origin cookie request: %d %s", resp.StatusCode, body)
	}
	same := graphql
	same.header = map[string]string{"Origin": base}
	if resp, _ := do(t, nil, base, same); resp.StatusCode != 200 {
		t.Errorf("same-origin cookie request: %d", resp.StatusCode)
	}

	resp, _ = do(t, nil, base, req{method: "POST", path: "/auth/logout", cookie: session})
	if resp.StatusCode != 204 || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout: %d %v", resp.StatusCode, resp.Cookies())
	}
	if resp, _ := do(t, nil, base, graphql); resp.StatusCode != 401 {
		t.Errorf("/graphql after logout: %d, want 401", resp.StatusCode)
	}
	if _, body := do(t, nil, base, req{method: "GET", path: "/auth/session", cookie: session}); !strings.Contains(body, `"signedIn":false`) {
		t.Errorf("/auth/session after logout: %s", body)
	}
}

func TestSessionExpires(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	tk := newTokens(t)
	base, _, _ := securedServer(t, Security{Keyring: tk.keyring, Sessions: auth.NewSessions(time.Minute, clock)})
	resp, _ := do(t, nil, base, req{method: "POST", path: "/auth/login", body: `{"token":"` + tk.viewer + `"}`})
	c := resp.Cookies()[0]
	q := req{method: "POST", path: "/graphql", body: healthQuery, cookie: &http.Cookie{Name: c.Name, Value: c.Value}}
	if resp, _ := do(t, nil, base, q); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if resp, _ := do(t, nil, base, q); resp.StatusCode != 401 {
		t.Errorf("expired session: %d, want 401", resp.StatusCode)
	}
}

func TestSecurityHeadersAndCORS(t *testing.T) {
	base, tk, _ := securedServer(t, Security{CORSOrigins: []string{"https://bi.example.com"}})
	for _, q := range []req{{method: "GET", path: "/"}, {method: "GET", path: "/healthz"}, {method: "GET", path: "/nope"},
		{method: "POST", path: "/graphql", body: healthQuery}, {method: "POST", path: "/graphql", body: healthQuery, token: tk.viewer},
		{method: "GET", path: "/graphql", accept: "text/html", token: tk.admin}} {
		resp, _ := do(t, nil, base, q)
		h := resp.Header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s %s: CSP %q", q.method, q.path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s %s: headers %v", q.method, q.path, h)
		}
		if h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s %s without Origin: CORS header %q", q.method, q.path, h.Get("Access-Control-Allow-Origin"))
		}
		if h.Get("Strict-Transport-Security") != "" {
			t.Errorf("HSTS without TLS")
		}
	}
	// A configured origin: preflight and the request itself.
	resp, _ := do(t, nil, base, req{method: "OPTIONS", path: "/graphql", header: map[string]string{
		"Origin": "https://bi.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://bi.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from a configured origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, nil, base, req{method: "POST", path: "/graphql", body: healthQuery, token: tk.viewer,
		header: map[string]string{"Origin": "https://bi.example.com"}})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://bi.example.com" {
		t.Errorf("request from a configured origin: %d %v", resp.StatusCode, resp.Header)
	}
	// Another origin: no CORS headers, so the browser withholds the answer.
	resp, _ = do(t, nil, base, req{method: "OPTIONS", path: "/graphql", header: map[string]string{
		"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin allowed: %v", resp.Header)
	}
}

func TestCORSOffByDefault(t *testing.T) {
	base, tk, _ := securedServer(t, Security{})
	resp, _ := do(t, nil, base, req{method: "POST", path: "/graphql", body: healthQuery, token: tk.viewer,
		header: map[string]string{"Origin": "https://bi.example.com"}})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS header without cors_origins: %v", resp.Header)
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Now()
	base, tk, reg := securedServer(t, Security{RatePerSecond: 1, RateBurst: 2, Now: func() time.Time { return now }})
	q := req{method: "POST", path: "/graphql", body: healthQuery, token: tk.viewer}
	for i := range 2 {
		if resp, _ := do(t, nil, base, q); resp.StatusCode != 200 {
			t.Fatalf("request %d within the burst: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := do(t, nil, base, q)
	if resp.StatusCode != 429 || code(body) != CodeRateLimited || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the limit: %d %s %v", resp.StatusCode, body, resp.Header)
	}
	q.token = tk.analyst // each token has its own bucket
	if resp, _ := do(t, nil, base, q); resp.StatusCode != 200 {
		t.Errorf("another token: %d", resp.StatusCode)
	}
	if got := refusals(t, reg, ReasonRateLimited); got != 1 {
		t.Errorf("rate_limited counted %v, want 1", got)
	}
}

func TestConcurrencyCap(t *testing.T) {
	entered := make(chan struct{}, 4)
	unblock := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-unblock
		w.Write([]byte(`{"data":{}}`))
	})
	reg := NewRegistry()
	base, _ := start(t, Options{DB: openDB(t), GraphQL: slow, Registry: reg, Logger: quiet(),
		Security: Security{MaxConcurrentQueries: 1, QueueTimeout: 50 * time.Millisecond}})
	first := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+"/graphql", "application/json", strings.NewReader(healthQuery))
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-entered
	resp, body := do(t, nil, base, req{method: "POST", path: "/graphql", body: healthQuery})
	if resp.StatusCode != 503 || code(body) != CodeOverloaded || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: %d %s", resp.StatusCode, body)
	}
	close(unblock)
	if c := <-first; c != 200 {
		t.Errorf("the request holding the slot: %d", c)
	}
	if resp, _ := do(t, nil, base, req{method: "POST", path: "/graphql", body: healthQuery}); resp.StatusCode != 200 {
		t.Errorf("after the slot freed: %d", resp.StatusCode)
	}
	if got := refusals(t, reg, ReasonOverloaded); got != 1 {
		t.Errorf("overloaded counted %v, want 1", got)
	}
}

func TestBodyLimit(t *testing.T) {
	base, tk, reg := securedServer(t, Security{MaxBodyBytes: 1000})
	big := `{"query":"{ health { status } }","variables":{"x":"` + strings.Repeat("a", 2000) + `"}}`
	resp, body := do(t, nil, base, req{method: "POST", path: "/graphql", body: big, token: tk.viewer})
	if resp.StatusCode != 413 || code(body) != CodeTooLarge {
		t.Errorf("oversized body: %d %s", resp.StatusCode, body)
	}
	// Without Content-Length (chunked), the cap applies while reading.
	r, _ := http.NewRequest("POST", base+"/graphql", io.MultiReader(strings.NewReader(big)))
	r.Header.Set("Authorization", "Bearer "+tk.viewer)
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1
	resp2, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != 413 || code(string(b)) != CodeTooLarge {
		t.Errorf("oversized chunked body: %d %s", resp2.StatusCode, b)
	}
	if got := refusals(t, reg, ReasonTooLarge); got != 2 {
		t.Errorf("too_large counted %v, want 2", got)
	}
}

func TestGraphQLRefusalsCounted(t *testing.T) {
	base, tk, reg := securedServer(t, Security{})
	var aliases strings.Builder
	for i := range 300 {
		fmt.Fprintf(&aliases, "h%d: health { status } ", i)
	}
	deep := `{"query":"{ ` + aliases.String() + `}"}` // complexity 600 > 500
	if _, body := do(t, nil, base, req{method: "POST", path: "/graphql", body: deep, token: tk.viewer}); code(body) != "TOO_COMPLEX" {
		t.Fatalf("deep query: %.300s", body)
	}
	if got := refusals(t, reg, ReasonTooComplex); got != 1 {
		t.Errorf("too_complex counted %v, want 1", got)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr           string
		auth, insecure bool
		ok             bool
	}{
		{"127.0.0.1:8080", false, false, true}, {"localhost:8080", false, false, true}, {"[::1]:8080", false, false, true},
		{"127.3.4.5:80", false, false, true},
		{"0.0.0.0:8080", false, false, false}, {":8080", false, false, false}, {"10.1.2.3:8080", false, false, false},
		{"[::]:8080", false, false, false}, {"ltc.example.com:8080", false, false, false},
		{"0.0.0.0:8080", true, false, true}, {"0.0.0.0:8080", false, true, true},
	} {
		err := CheckListen(c.addr, c.auth, c.insecure)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrUnprotected)) {
			t.Errorf("CheckListen(%q, auth=%v, insecure=%v) = %v", c.addr, c.auth, c.insecure, err)
		}
	}
}

func TestRunRefusesExposedWithoutAuth(t *testing.T) {
	listen := func() net.Listener {
		ln, err := net.Listen("tcp", "0.0.0.0:0")
		if err != nil {
			t.Skipf("cannot listen on 0.0.0.0: %v", err)
		}
		return ln
	}
	err := New(Options{Listener: listen(), Logger: quiet()}).Run(context.Background())
	if !errors.Is(err, ErrUnprotected) || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("Run on 0.0.0.0 without auth: %v", err)
	}
	err = New(Options{Listen: "0.0.0.0:0", Logger: quiet(), Security: Security{MetricsListen: "127.0.0.1:0"}}).Run(context.Background())
	if !errors.Is(err, ErrUnprotected) {
		t.Errorf("Run(Listen 0.0.0.0) without auth: %v", err)
	}
	for name, sec := range map[string]Security{"insecure": {Insecure: true}, "auth": {Keyring: newTokens(t).keyring}} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- New(Options{Listener: listen(), Logger: quiet(), Security: sec}).Run(ctx) }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run on 0.0.0.0: %v", name, err)
		}
	}
}

func TestMetricsOnTheirOwnAddress(t *testing.T) {
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, Options{DB: openDB(t), Registry: NewRegistry(), Logger: quiet(), Security: Security{MetricsListener: mln}})
	if resp, _ := do(t, nil, base, req{method: "GET", path: "/metrics"}); resp.StatusCode != 404 {
		t.Errorf("/metrics on the main address: %d, want 404", resp.StatusCode)
	}
	resp, body := do(t, nil, "http://"+mln.Addr().String(), req{method: "GET", path: "/metrics"})
	if resp.StatusCode != 200 || !strings.Contains(body, "ltc_http_refusals_total") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/metrics on the metrics address: %d %.200s", resp.StatusCode, body)
	}
	if resp, _ := do(t, nil, "http://"+mln.Addr().String(), req{method: "GET", path: "/graphql"}); resp.StatusCode != 404 {
		t.Errorf("/graphql on the metrics address: %d, want 404", resp.StatusCode)
	}
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, cert, key)
	tk := newTokens(t)
	base, _ := start(t, Options{DB: openDB(t), Logger: quiet(), Registry: NewRegistry(),
		Security: Security{Keyring: tk.keyring, TLSCertFile: cert, TLSKeyFile: key}})
	base = strings.Replace(base, "http://", "https://", 1)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, _ := do(t, client, base, req{method: "POST", path: "/auth/login", body: `{"token":"` + tk.viewer + `"}`})
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Errorf("sign-in over TLS: %d, cookies %v (want Secure)", resp.StatusCode, resp.Cookies())
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("TLS state %+v", resp.TLS)
	}
}

func writeSelfSigned(t *testing.T, certFile, keyFile string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecureCookiesBehindTLSProxy: with SecureCookies (TLS ends at a proxy in front), the session
// cookie is Secure although this server speaks plain HTTP.
func TestSecureCookiesBehindTLSProxy(t *testing.T) {
	tk := newTokens(t)
	base, _ := start(t, Options{DB: openDB(t), Logger: quiet(), Registry: NewRegistry(),
		Security: Security{Keyring: tk.keyring, SecureCookies: true}})
	resp, _ := do(t, nil, base, req{method: "POST", path: "/auth/login", body: `{"token":"` + tk.viewer + `"}`})
	if resp.StatusCode != 200 || len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure || !resp.Cookies()[0].HttpOnly {
		t.Errorf("sign-in with secure_cookies: %d, cookies %v (want Secure, HttpOnly)", resp.StatusCode, resp.Cookies())
	}
	resp, _ = do(t, nil, base, req{method: "POST", path: "/auth/logout"})
	if len(resp.Cookies()) != 1 || !resp.Cookies()[0].Secure {
		t.Errorf("sign-out with secure_cookies: cookies %v (want the clearing cookie Secure too)", resp.Cookies())
	}
}
