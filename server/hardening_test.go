package server

import (
	"net/http"
	"strings"
	"testing"

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
