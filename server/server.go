// Package server is ltc's HTTP server: the GraphQL API and GraphiQL at /graphql, liveness at
// /healthz, readiness at /readyz, Prometheus metrics at /metrics and the dashboard at /.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/dashboards/graphiql"
	"github.com/ltc-analytics/ltc/schema"
)

// Defaults.
const (
	DefaultShutdownTimeout = 10 * time.Second
	// maxRequestBytes bounds a request body by default (Security.MaxBodyBytes).
	maxRequestBytes = 1 << 20
	readyTimeout    = 2 * time.Second
)

// Options configures the server; cmd/ltc builds it.
type Options struct {
	// Listen is the TCP address to listen on (e.g. "127.0.0.1:8080"); ignored when Listener is set.
	Listen string
	// Listener, when set, is used instead of listening on Listen (tests pass 127.0.0.1:0).
	Listener net.Listener
	// DB is the warehouse; /readyz pings it.
	DB *schema.DB
	// GraphQL is the API handler (graph.NewHandler).
	GraphQL http.Handler
	// UI is the dashboard served at /; nil serves a "dashboard not built" page.
	UI http.Handler
	// Registry is the private registry /metrics exposes (see NewRegistry).
	Registry *prometheus.Registry
	// Ready reports extra readiness conditions (e.g. the scheduler started); nil means none.
	Ready func() error
	// Probe, when set, replaces the ping of DB in /readyz and returns a detail appended to "ok"
	// (read replicas ping the snapshot they serve at the moment and report its data version).
	Probe func(ctx context.Context) (detail string, err error)
	// Logger receives request logs (debug level) and server errors; nil means slog.Default().
	Logger *slog.Logger
	// ShutdownTimeout bounds the graceful shutdown (default 10s).
	ShutdownTimeout time.Duration
	// Security configures authentication, TLS, CORS, the metrics address and the request limits
	// (security.go); the zero value serves unauthenticated on loopback addresses only.
	Security Security
}

// Server is the HTTP server. Create it with New and start it with Run.
type Server struct {
	opts    Options
	sec     *security
	handler http.Handler
	// metrics serves /metrics on Security.MetricsListen; nil when /metrics is on the main handler.
	metrics http.Handler
}

// New builds the server's routes; it does not listen yet.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	refusals := opts.Security.Refusals
	if refusals == nil {
		refusals = NewRefusals(opts.Registry)
	}
	s := &Server{opts: opts, sec: newSecurity(opts.Security, refusals)}
	sec := s.sec
	gi := graphiql.New(graphiql.Options{Endpoint: "/graphql", AssetPrefix: "/graphiql/"})

	// Public: the dashboard's static files (it asks the API, which needs a token), the probes and
	// sign-in. Everything else needs a token or session when auth is configured.
	mux := http.NewServeMux()
	mux.Handle("/graphql", s.graphqlHandler(sec.require(auth.Analyst, false, gi)))
	mux.Handle("GET /graphiql/", sec.require(auth.Analyst, false, gi))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("POST /auth/login", sec.loginHandler)
	mux.HandleFunc("POST /auth/logout", sec.logoutHandler)
	mux.HandleFunc("GET /auth/session", sec.sessionHandler)
	// The metrics include KPI gauges of every business unit: a row-scoped token may not read them.
	metrics := sec.require(auth.Viewer, true, promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
	}))
	if sec.MetricsListen == "" && sec.MetricsListener == nil {
		mux.Handle("GET /metrics", metrics)
	} else {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metrics)
		s.metrics = s.logRequests(sec.headers(mm))
	}
	if opts.UI != nil {
		mux.Handle("/", opts.UI)
	} else {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(placeholderPage))
		})
	}
	s.handler = s.logRequests(sec.headers(mux))
	return s
}

// Handler returns the server's root handler (routes, security and request logging).
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves until ctx is done, then shuts down gracefully within ShutdownTimeout (on a fresh
// context, since ctx is already cancelled). It returns nil after a clean shutdown. It refuses a
// non-loopback address without authentication unless Security.Insecure (CheckListen), and serves
// /metrics on its own listener when Security.MetricsListen is set.
func (s *Server) Run(ctx context.Context) error {
	sec := s.sec
	type endpoint struct {
		name    string
		ln      net.Listener
		handler http.Handler
	}
	var eps []endpoint
	closeAll := func() {
		for _, ep := range eps {
			ep.ln.Close()
		}
	}
	open := func(name, addr string, ln net.Listener, h http.Handler) error {
		if ln != nil {
			addr = ln.Addr().String()
		}
		if err := CheckListen(addr, sec.Keyring != nil, sec.Insecure); err != nil {
			if ln != nil {
				ln.Close()
			}
			return err
		}
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", addr); err != nil {
				return err
			}
		}
		eps = append(eps, endpoint{name, ln, h})
		return nil
	}
	if err := open("http", s.opts.Listen, s.opts.Listener, s.handler); err != nil {
		return fmt.Errorf("server.Run: %w", err)
	}
	if s.metrics != nil {
		if err := open("metrics", sec.MetricsListen, sec.MetricsListener, s.metrics); err != nil {
			closeAll()
			return fmt.Errorf("server.Run: metrics: %w", err)
		}
	}
	errc := make(chan error, len(eps))
	servers := make([]*http.Server, len(eps))
	scheme := "http"
	if sec.tls {
		scheme = "https"
	}
	for i, ep := range eps {
		srv := &http.Server{
			Handler:           ep.handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
			BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
			TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
		}
		servers[i] = srv
		s.opts.Logger.Info("http server listening", "addr", ep.ln.Addr().String(), "serves", ep.name, "scheme", scheme,
			"auth", sec.Keyring != nil)
		go func() {
			if sec.tls {
				errc <- srv.ServeTLS(ep.ln, sec.TLSCertFile, sec.TLSKeyFile)
				return
			}
			errc <- srv.Serve(ep.ln)
		}()
	}
	var runErr error
	pending := len(servers)
	select {
	case err := <-errc:
		runErr = fmt.Errorf("server.Run: %w", err)
		pending--
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), s.opts.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			srv.Close()
			runErr = errors.Join(runErr, fmt.Errorf("server.Run: shutdown: %w", err))
		}
	}
	for range pending {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			runErr = errors.Join(runErr, fmt.Errorf("server.Run: %w", err))
		}
	}
	if runErr != nil {
		return runErr
	}
	s.opts.Logger.Info("http server stopped")
	return nil
}

// graphqlHandler sends browsers (GET accepting text/html, no query) to GraphiQL and everything else
// to the API: authenticated (any role; graph checks each field's), rate-limited, with a bounded
// request body, in one of the query slots.
func (s *Server) graphqlHandler(gi http.Handler) http.Handler {
	api := s.opts.GraphQL
	if api == nil {
		api = http.NotFoundHandler()
	}
	sec := s.sec
	api = sec.require(auth.Viewer, false, sec.limitBody(sec.limitQueries(api)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("query") == "" && acceptsHTML(r) {
			gi.ServeHTTP(w, r)
			return
		}
		if sec.Keyring != nil {
			w.Header().Set("Cache-Control", "private, no-store") // answers depend on who asks
		}
		api.ServeHTTP(w, r)
	})
}

func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// ready answers /readyz: 200 when the warehouse answers a ping and Ready passes, else 503 with the reason.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	var err error
	var detail string
	switch {
	case s.opts.Probe != nil:
		detail, err = s.opts.Probe(ctx)
	case s.opts.DB == nil:
		err = errors.New("no database")
	default:
		if err = s.opts.DB.Read.PingContext(ctx); err != nil {
			err = fmt.Errorf("database: %w", err)
		}
	}
	if err == nil && s.opts.Ready != nil {
		err = s.opts.Ready()
	}
	if err != nil {
		s.opts.Logger.Warn("not ready", "err", err)
		writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error()+"\n")
		return
	}
	if detail != "" {
		detail = " " + detail
	}
	writeText(w, http.StatusOK, "ok"+detail+"\n")
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write([]byte(body))
}

// logRequests logs every request at debug level with its status and duration.
func (s *Server) logRequests(next http.Handler) http.Handler {
	logger := s.opts.Logger
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		logger.DebugContext(r.Context(), "http request", "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "bytes", sw.bytes, "duration_seconds", time.Since(start).Seconds())
	})
}

// statusWriter records the status code and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

const placeholderPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ltc</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>ltc</h1>
<p>The dashboard is not built into this binary. Run <code>make build</code> to bundle it.</p>
<p>The API is at <a href="/graphql">/graphql</a> (GraphiQL in a browser); metrics at <a href="/metrics">/metrics</a>.</p>
</body>
</html>
`
