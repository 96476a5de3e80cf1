package graph

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Handler defaults.
const (
	DefaultComplexityLimit = 500
	DefaultDepthLimit      = 12
	DefaultTimeout         = 30 * time.Second
	queryCacheSize         = 1000
	apqCacheSize           = 1000
	// responseCacheBytes bounds the response cache by the size of the answers it holds.
	responseCacheBytes = 64 << 20
)

// HandlerOptions configures the production GraphQL handler. Zero values mean the defaults.
type HandlerOptions struct {
	// ComplexityLimit caps an operation's complexity (gqlgen's count: 1 per field; default 500).
	ComplexityLimit int
	// DepthLimit caps how deep field selections nest (default 12); deeper operations fail TOO_COMPLEX.
	DepthLimit int
	// DisableIntrospection turns introspection off (it is on by default: config server.introspection).
	DisableIntrospection bool
	// MaxResponseBytes caps the JSON data of one answer (default 8 MiB); a larger one is replaced by
	// a TOO_LARGE error. MaxResultRows caps the KPI result rows of one request (totals, groups,
	// series points, list nodes; default 10,000): an operation estimated beyond it is refused
	// TOO_COMPLEX before it runs, and fields past it answer TOO_LARGE.
	MaxResponseBytes int
	MaxResultRows    int
	// Timeout bounds each request (default 30s: config server.request_timeout); past it, fields fail TIMEOUT.
	Timeout time.Duration
	// ErrorCodes is the error-code table; nil means NewErrorCodes().
	ErrorCodes *ErrorCodes
	// Logger receives errors and panics; nil means slog.Default().
	Logger *slog.Logger
	// DataVersion, when set, enables the response cache (ResponseCache): repeated queries at the
	// same data version are answered from memory. It must be cheap (an in-memory read).
	DataVersion func() int64
	// EnforceRoles checks each root field against the caller's role (graph/auth.go): set it when
	// authentication is configured. The caller comes from the request context (auth.NewContext).
	EnforceRoles bool
	// Refused, when set, is told of each refusal the API answers itself: FORBIDDEN and
	// UNAUTHENTICATED fields, TOO_COMPLEX and TIMEOUT (for ltc_http_refusals_total).
	Refused func(ctx context.Context, code Code)
	// Observe, when set, is told of each executed operation: its kind (query, mutation,
	// subscription), its duration and whether the response cache answered it (ltc_graphql_* metrics).
	Observe func(kind string, seconds float64, cacheHit bool)
}

// NewHandler returns the production GraphQL HTTP handler over r: GET, POST and OPTIONS transports,
// an LRU parsed-query cache, automatic persisted queries, complexity and depth limits, optional
// introspection, a per-request timeout, stable error codes and panic recovery.
func NewHandler(r *Resolver, opts HandlerOptions) http.Handler {
	return newHandler(NewExecutableSchema(Config{Resolvers: r}), opts)
}

// newHandler builds the handler around any executable schema (tests substitute resolvers).
func newHandler(es graphql.ExecutableSchema, opts HandlerOptions) http.Handler {
	if opts.ComplexityLimit <= 0 {
		opts.ComplexityLimit = DefaultComplexityLimit
	}
	if opts.DepthLimit <= 0 {
		opts.DepthLimit = DefaultDepthLimit
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.ErrorCodes == nil {
		opts.ErrorCodes = NewErrorCodes()
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.MaxResultRows <= 0 {
		opts.MaxResultRows = DefaultMaxResultRows
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	srv := handler.New(es)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](queryCacheSize))
	if !opts.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](apqCacheSize)})
	srv.Use(extension.FixedComplexityLimit(opts.ComplexityLimit))
	srv.Use(DepthLimit{Max: opts.DepthLimit})
	srv.Use(RowEstimate{Max: opts.MaxResultRows})
	if opts.Observe != nil { // outside the cache, so cached answers are timed too
		srv.AroundResponses(observe(opts.Observe))
	}
	if opts.DataVersion != nil {
		srv.Use(NewResponseCache(responseCacheBytes, opts.DataVersion))
	}
	// Inside the cache: an answer over the limit becomes an error, which is not cached.
	srv.AroundResponses(limitResponse(opts.MaxResponseBytes, opts.Refused))
	if opts.EnforceRoles {
		srv.AroundFields(authorizeFields)
	}
	srv.AroundResponses(collectWarnings)
	srv.AroundFields(countRows(opts.MaxResultRows))
	srv.SetErrorPresenter(reportRefusals(opts.ErrorCodes.presenter(opts.Logger), opts.Refused))
	srv.SetRecoverFunc(recoverFunc(opts.Logger))

	// The deadline is set around response execution, where resolvers run: gqlgen answers "null" to a
	// request whose own context is already done, so the transport context is left alone.
	timeout := opts.Timeout
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return next(ctx)
	})
	return srv
}

// refusalCodes are the codes reported to HandlerOptions.Refused.
var refusalCodes = map[Code]bool{CodeForbidden: true, CodeUnauthenticated: true, CodeTooComplex: true, CodeTimeout: true,
	CodeTooLarge: true}

// reportRefusals wraps an error presenter to tell refused of the refusal codes it presents.
func reportRefusals(present graphql.ErrorPresenterFunc, refused func(context.Context, Code)) graphql.ErrorPresenterFunc {
	if refused == nil {
		return present
	}
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := present(ctx, err)
		if code, ok := gqlErr.Extensions["code"].(string); ok && refusalCodes[Code(code)] {
			refused(ctx, Code(code))
		}
		return gqlErr
	}
}
