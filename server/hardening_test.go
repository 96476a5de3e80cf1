package server

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/auth"
)

// signIn posts token to /auth/login and returns the session cookie.
func signIn(t *testing.T, base, token string) *http.Cookie {
	t.Helper()
	resp, body := do(t, nil, base, req{method: "POST", path: "/auth/login", body: `{"token":"` + token + `"}`})
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	return nil
}

// TestSignInsDoNotEvictOtherIdentities: a viewer signing in past the session cap drops its own
// oldest sessions, never the admin's.
func TestSignInsDoNotEvictOtherIdentities(t *testing.T) {
	base, tk, _ := securedServer(t, Security{})
	admin := signIn(t, base, tk.admin)
	first := signIn(t, base, tk.viewer)
	for range auth.MaxSessionsPerIdentity + 10 {
		signIn(t, base, tk.viewer)
	}
	if _, body := do(t, nil, base, req{method: "GET", path: "/auth/session", cookie: admin}); !strings.Contains(body, `"signedIn":true`) {
		t.Errorf("the admin was signed out by a viewer's sign-ins: %s", body)
	}
	if _, body := do(t, nil, base, req{method: "GET", path: "/auth/session", cookie: first}); !strings.Contains(body, `"signedIn":false`) {
		t.Errorf("the viewer's oldest session survived past the cap: %s", body)
	}
}

// TestSlowBodiesAreCut sends request headers at once and then the body one byte at a time: the
// server must give up on the connection after Security.BodyTimeout, on every route (one that
// reads the body and one that does not), instead of holding it for as long as bytes trickle in.
func TestSlowBodiesAreCut(t *testing.T) {
	base, tk, _ := securedServer(t, Security{BodyTimeout: 500 * time.Millisecond})
	addr := strings.TrimPrefix(base, "http://")
	for _, path := range []string{"/auth/login", "/auth/logout", "/graphql"} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
			path, addr, tk.viewer)
		closed := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn) // returns when the server closes the connection
			closed <- string(b)
		}()
		start := time.Now()
		var answer string
	trickle:
		for {
			select {
			case answer = <-closed:
				break trickle
			case <-time.After(200 * time.Millisecond):
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("%s: connection still open after %v of a trickling body", path, time.Since(start))
				break
			}
			conn.Write([]byte(" "))
		}
		conn.Close()
		if d := time.Since(start); d < 5*time.Second {
			t.Logf("%s: closed after %v: %q", path, d.Round(time.Millisecond), firstLine(answer))
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}

// TestLogoutRefusesOtherOrigins: a page on another origin cannot sign a user out.
func TestLogoutRefusesOtherOrigins(t *testing.T) {
	base, tk, _ := securedServer(t, Security{})
	session := signIn(t, base, tk.viewer)
	for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}} {
		resp, body := do(t, nil, base, req{method: "POST", path: "/auth/logout", cookie: session, header: h})
		if resp.StatusCode != http.StatusForbidden || code(body) != CodeCrossOrigin {
			t.Errorf("logout with %v: %d %s", h, resp.StatusCode, body)
		}
	}
	if _, body := do(t, nil, base, req{method: "GET", path: "/auth/session", cookie: session}); !strings.Contains(body, `"signedIn":true`) {
		t.Errorf("signed out by a foreign page: %s", body)
	}
	if resp, _ := do(t, nil, base, req{method: "POST", path: "/auth/logout", cookie: session, header: map[string]string{"Origin": base}}); resp.StatusCode != http.StatusNoContent {
		t.Errorf("same-origin logout: %d", resp.StatusCode)
	}
}
