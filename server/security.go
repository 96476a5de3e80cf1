package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/internal/queryslot"
)

// Security configures authentication, TLS, CORS and the request limits. The zero value serves
// without authentication (only on loopback addresses, see CheckListen), without TLS and CORS, with
// the default body cap and query slots and no rate limit.
type Security struct {
	// Keyring holds the API tokens; nil turns authentication off (every request is served, as a
	// local demo expects). With it, every endpoint but /, /healthz, /readyz and /auth/* needs a
	// token (Authorization: Bearer) or a session cookie, and a role.
	Keyring *auth.Keyring
	// Sessions stores dashboard sign-ins; nil with a Keyring means auth.NewSessions(0, nil).
	Sessions *auth.Sessions
	// Insecure allows serving without a Keyring on a non-loopback address (the --insecure flag).
	Insecure bool
	// TLSCertFile and TLSKeyFile, when set, serve HTTPS (every listener); session cookies are then Secure.
	TLSCertFile, TLSKeyFile string
	// SecureCookies marks session cookies Secure without TLS here: behind a proxy that terminates
	// TLS, so browsers send the cookie over HTTPS only.
	SecureCookies bool
	// MetricsListen, when set, serves /metrics on its own address instead of the main one;
	// MetricsListener, when set, is used instead (tests).
	MetricsListen   string
	MetricsListener net.Listener
	// CORSOrigins are the browser origins (scheme://host[:port]) allowed to call the API
	// cross-origin, with a bearer token (cookies are SameSite=Strict). None: CORS is off.
	CORSOrigins []string
	// MaxBodyBytes caps a request body (default 1 MiB); larger bodies get 413 TOO_LARGE.
	MaxBodyBytes int64
	// BodyTimeout bounds the time to receive a request body once its headers are in (default 10s;
	// headers have their own 10s): a client sending a body byte by byte has its connection closed.
	BodyTimeout time.Duration
	// MaxConcurrentQueries caps the GraphQL requests running at once (default 16; negative: no cap).
	MaxConcurrentQueries int
	// QueueTimeout is how long a GraphQL request waits for a slot before 503 OVERLOADED (default 10s).
	QueueTimeout time.Duration
	// RatePerSecond and RateBurst are each token's request budget (a token bucket); sign-in attempts
	// are limited per client address alike. RatePerSecond 0 means no limit.
	RatePerSecond float64
	RateBurst     int
	// Refusals counts refused requests; nil means one registered on Options.Registry.
	Refusals *Refusals
	// Now is the clock of the rate limiter (nil: time.Now).
	Now func() time.Time
}

// Security defaults.
const (
	DefaultMaxConcurrentQueries = 16
	DefaultQueueTimeout         = 10 * time.Second
	DefaultBodyTimeout          = 10 * time.Second
	// SessionCookie is the name of the dashboard's session cookie.
	SessionCookie = "ltc_session"
	// loginBodyBytes caps a sign-in request body.
	loginBodyBytes = 4 << 10
)

// Error codes of refusals answered by the server itself (GraphQL adds FORBIDDEN fields, TOO_COMPLEX
// and TIMEOUT). For /graphql and /auth/* they come as {"errors":[{"message","extensions":{"code"}}]}.
const (
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeCrossOrigin     = "CROSS_ORIGIN"
	CodeRateLimited     = "RATE_LIMITED"
	CodeOverloaded      = "OVERLOADED"
	CodeTooLarge        = "TOO_LARGE"
	CodeBadRequest      = "BAD_REQUEST"
	CodeBodyTimeout     = "BODY_TIMEOUT"
)

// contentSecurityPolicy allows only this origin: the dashboard and GraphiQL bundles, their
// stylesheets (with inline style attributes, which both set), fonts and images inlined as data:
// URIs, and fetches to this origin. No page may frame ltc.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// ErrUnprotected is returned (wrapped) for a non-loopback listen address without authentication.
var ErrUnprotected = errors.New("refusing to serve without authentication on a non-loopback address")

// CheckListen returns an error wrapping ErrUnprotected when addr (host:port) is not a loopback
// address and neither authentication is configured nor insecure is set. A host name other than
// localhost counts as non-loopback, as does an empty host or 0.0.0.0 (every interface).
func CheckListen(addr string, authConfigured, insecure bool) error {
	if authConfigured || insecure || isLoopback(addr) {
		return nil
	}
	return fmt.Errorf("%w %s: configure auth.tokens (create one with `ltc token new`) or pass --insecure to serve it unauthenticated", ErrUnprotected, addr)
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// security is the server's applied Security: the parsed settings and the shared state.
type security struct {
	Security
	tls     bool
	cors    map[string]bool
	rate    *rateLimiter
	login   *rateLimiter
	slots   *querySlots
	maxBody int64
	bodyTO  time.Duration
}

func newSecurity(sec Security, refusals *Refusals) *security {
	s := &security{Security: sec, tls: sec.TLSCertFile != "", cors: map[string]bool{}}
	s.Refusals = refusals
	if s.Keyring != nil && s.Sessions == nil {
		s.Sessions = auth.NewSessions(0, nil)
	}
	for _, o := range sec.CORSOrigins {
		s.cors[strings.TrimSuffix(o, "/")] = true
	}
	s.rate = newRateLimiter(sec.RatePerSecond, sec.RateBurst, sec.Now)
	s.login = newRateLimiter(sec.RatePerSecond, sec.RateBurst, sec.Now)
	n, wait := sec.MaxConcurrentQueries, sec.QueueTimeout
	if n == 0 {
		n = DefaultMaxConcurrentQueries
	}
	if wait <= 0 {
		wait = DefaultQueueTimeout
	}
	s.slots = newQuerySlots(n, wait)
	s.maxBody = sec.MaxBodyBytes
	if s.maxBody <= 0 {
		s.maxBody = maxRequestBytes
	}
	s.bodyTO = sec.BodyTimeout
	if s.bodyTO <= 0 {
		s.bodyTO = DefaultBodyTimeout
	}
	return s
}

// headers wraps next so that every response carries the security headers (overriding a handler's
// own), CORS answers for configured origins, and a per-request refusal set for the counters.
func (s *security) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &secureWriter{ResponseWriter: w, s: s}
		s.setHeaders(w.Header())
		r = r.WithContext(withRefusalSet(r.Context()))
		s.bodyDeadline(w, r)
		if origin := r.Header.Get("Origin"); origin != "" && s.cors[origin] {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				h.Set("Access-Control-Max-Age", "600")
				sw.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(sw, r)
	})
}

// bodyDeadline gives a request with a body BodyTimeout to arrive: a read deadline on the connection,
// lifted once the body has been read to its end (so it never cuts a long-running query short). A
// body that trickles in fails its read, and a handler that does not read the body leaves the
// deadline for the server's own drain of it, which then closes the connection.
func (s *security) bodyDeadline(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.SetReadDeadline(time.Now().Add(s.bodyTO)); err != nil {
		return // a connection without deadlines (e.g. a test recorder)
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
}

// deadlineBody lifts the connection's read deadline when the body has been read to its end.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (s *security) setHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.tls {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// secureWriter sets the security headers again when the response starts, over any a handler set.
type secureWriter struct {
	http.ResponseWriter
	s     *security
	wrote bool
}

func (w *secureWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.s.setHeaders(w.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *secureWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *secureWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// require wraps next with authentication (when configured), the role check and the per-token rate
// limit. unscoped also refuses tokens limited to some business units or regions (for endpoints
// the KPI engine cannot scope, such as /metrics).
func (s *security) require(role auth.Role, unscoped bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Keyring == nil {
			next.ServeHTTP(w, r)
			return
		}
		id, viaCookie, ok := s.authenticate(r)
		switch {
		case !ok:
			s.refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, "authentication required: send Authorization: Bearer <token>, or sign in on the dashboard")
			return
		case viaCookie && !s.sameOrigin(r):
			s.refuse(w, r, http.StatusForbidden, CodeCrossOrigin, "cross-origin request with a session cookie")
			return
		case !id.Role.Includes(role):
			s.refuse(w, r, http.StatusForbidden, CodeForbidden, "forbidden: this needs the "+role.String()+" role")
			return
		case unscoped && id.Scoped():
			s.refuse(w, r, http.StatusForbidden, CodeForbidden, "forbidden: this needs a token without business-unit or region limits")
			return
		}
		if ok, wait := s.rate.allow("token:" + id.Name); !ok {
			w.Header().Set("Retry-After", retryAfter(wait))
			s.refuse(w, r, http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded: slow down")
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), id)))
	})
}

// authenticate finds the caller from the bearer token or, without an Authorization header, the
// session cookie. A present but unknown token fails without trying the cookie.
func (s *security) authenticate(r *http.Request) (id auth.Identity, viaCookie, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return auth.Identity{}, false, false
		}
		id, ok = s.Keyring.Authenticate(strings.TrimSpace(token))
		return id, false, ok
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		id, ok = s.Sessions.Lookup(c.Value)
		return id, true, ok
	}
	return auth.Identity{}, false, false
}

// sameOrigin reports whether a cookie-authenticated request comes from this origin (or a configured
// CORS origin): SameSite=Strict already keeps cross-site requests from carrying the cookie, and this
// also refuses same-site, cross-origin ones.
func (s *security) sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	if s.cors[origin] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// limitBody reads the request body up to the cap (413 TOO_LARGE beyond it) so that handlers see a
// bounded, complete body.
func (s *security) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			s.refuse(w, r, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body over %d bytes", s.maxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
			if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
				s.refuse(w, r, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("request body over %d bytes", s.maxBody))
				return
			}
			if err != nil {
				if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
					writeJSON(w, http.StatusRequestTimeout, errorBody(CodeBodyTimeout, "the request body did not arrive in time"))
					return
				}
				writeJSON(w, http.StatusBadRequest, errorBody(CodeBadRequest, "could not read the request body"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	})
}

// limitQueries runs next in a query slot, or answers 503 OVERLOADED when none frees up in time.
func (s *security) limitQueries(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release := s.slots.acquire(r.Context())
		if release == nil {
			w.Header().Set("Retry-After", "1")
			s.refuse(w, r, http.StatusServiceUnavailable, CodeOverloaded, "server busy: too many queries running, retry shortly")
			return
		}
		// The slot travels in the context: a request that only waits for another request's
		// shared computation gives it back meanwhile (queryslot.Yield, in the KPI engine).
		slot := queryslot.New(release, s.slots.acquire)
		defer slot.Done()
		next.ServeHTTP(w, r.WithContext(queryslot.With(r.Context(), slot)))
	})
}

// refuse answers a refused request with status and code, and counts it. /graphql and /auth/*
// answer GraphQL-shaped JSON; a browser page request gets a short HTML page; others plain text.
func (s *security) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	s.Refusals.Record(r.Context(), code)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="ltc"`)
	}
	switch {
	case r.Method == http.MethodGet && acceptsHTML(r) && r.URL.Query().Get("query") == "":
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, refusalPage, http.StatusText(status), htmlEscape(msg))
	case r.URL.Path == "/graphql" || strings.HasPrefix(r.URL.Path, "/auth/"):
		writeJSON(w, status, errorBody(code, msg))
	default:
		writeText(w, status, code+": "+msg+"\n")
	}
}

func errorBody(code, msg string) any {
	type ext struct {
		Code string `json:"code"`
	}
	type gqlError struct {
		Message    string `json:"message"`
		Extensions ext    `json:"extensions"`
	}
	return map[string][]gqlError{"errors": {{Message: msg, Extensions: ext{Code: code}}}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Max(1, math.Ceil(d.Seconds()))))
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

const refusalPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ltc: %s</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<p>%s.</p><p><a href="/">Sign in on the dashboard</a>, then come back to this page.</p>
</body></html>
`

// sessionInfo is what /auth/login and /auth/session answer.
type sessionInfo struct {
	Auth          bool      `json:"auth"`
	SignedIn      bool      `json:"signedIn"`
	Name          string    `json:"name,omitempty"`
	Role          string    `json:"role,omitempty"`
	BusinessUnits []string  `json:"businessUnits,omitempty"`
	Regions       []string  `json:"regions,omitempty"`
	Expires       time.Time `json:"expires,omitzero"`
}

func infoOf(id auth.Identity) sessionInfo {
	return sessionInfo{Auth: true, SignedIn: true, Name: id.Name, Role: id.Role.String(), BusinessUnits: id.BusinessUnits, Regions: id.Regions}
}

// login answers POST /auth/login {"token": "..."}: a valid token starts a session and sets the
// session cookie (HttpOnly, SameSite=Strict, Secure with TLS); an invalid one is 401 at once (the
// comparison is constant-time, so no delay is needed to hide anything). Attempts are rate-limited
// per client address.
func (s *security) loginHandler(w http.ResponseWriter, r *http.Request) {
	if s.Keyring == nil {
		writeJSON(w, http.StatusNotFound, errorBody("NOT_CONFIGURED", "authentication is not configured"))
		return
	}
	if ok, wait := s.login.allow("login:" + clientAddr(r)); !ok {
		w.Header().Set("Retry-After", retryAfter(wait))
		s.refuse(w, r, http.StatusTooManyRequests, CodeRateLimited, "too many sign-in attempts: slow down")
		return
	}
	if !s.sameOrigin(r) {
		s.refuse(w, r, http.StatusForbidden, CodeCrossOrigin, "cross-origin sign-in")
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody("BAD_REQUEST", `send {"token": "…"} as application/json`))
		return
	}
	var req struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, loginBodyBytes)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody("BAD_REQUEST", `send {"token": "…"} as application/json`))
		return
	}
	id, ok := s.Keyring.Authenticate(strings.TrimSpace(req.Token))
	if !ok {
		s.refuse(w, r, http.StatusUnauthorized, CodeUnauthenticated, "token not accepted")
		return
	}
	sid, expires, err := s.Sessions.Create(id)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody("INTERNAL", "could not start a session"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: sid, Path: "/", Expires: expires, MaxAge: int(s.Sessions.TTL().Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookie(r),
	})
	info := infoOf(id)
	info.Expires = expires.UTC()
	writeJSON(w, http.StatusOK, info)
}

// secureCookie reports whether the session cookie of a response to r is marked Secure.
func (s *security) secureCookie(r *http.Request) bool {
	return s.tls || r.TLS != nil || s.SecureCookies
}

// logoutHandler answers POST /auth/logout: the session ends on the server and the cookie is cleared.
// Like sign-in, it refuses another origin (a foreign page must not sign a user out).
func (s *security) logoutHandler(w http.ResponseWriter, r *http.Request) {
	if !s.sameOrigin(r) {
		s.refuse(w, r, http.StatusForbidden, CodeCrossOrigin, "cross-origin sign-out")
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil && s.Sessions != nil {
		s.Sessions.Delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookie(r),
	})
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// sessionHandler answers GET /auth/session: whether authentication is on and who is signed in
// (always 200, so the dashboard can ask without a console error).
func (s *security) sessionHandler(w http.ResponseWriter, r *http.Request) {
	if s.Keyring == nil {
		writeJSON(w, http.StatusOK, sessionInfo{})
		return
	}
	id, _, ok := s.authenticate(r)
	if !ok {
		writeJSON(w, http.StatusOK, sessionInfo{Auth: true})
		return
	}
	writeJSON(w, http.StatusOK, infoOf(id))
}

// clientAddr is the client's IP address (the connection's; proxies' headers are not trusted).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
