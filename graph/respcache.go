package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/internal/bytecache"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// ResponseCache is a gqlgen extension that answers a repeated query — same text, operation name
// and variables, asked by a caller with the same role and row scope — at the same data version
// straight from memory, without running resolvers.
// Every ETL commit bumps the data version, so a cached answer is never stale. Only queries
// without errors are cached; mutations and subscriptions always run. The cache is bounded by the
// bytes of the answers it holds: the least recently used go first.
type ResponseCache struct {
	// version returns the warehouse data version; it must be cheap (an in-memory read).
	version func() int64

	cache *bytecache.Cache[*graphql.Response]
}

// responseCacheEntries bounds the entries too (tiny answers); the byte bound is the one that matters.
const responseCacheEntries = 100000

// NewResponseCache returns a cache holding up to maxBytes of answers, keyed by request and data version.
func NewResponseCache(maxBytes int64, version func() int64) *ResponseCache {
	return &ResponseCache{version: version, cache: bytecache.New[*graphql.Response](responseCacheEntries, maxBytes)}
}

// responseSize approximates the memory an entry holds: its JSON data, key and bookkeeping.
func responseSize(key string, r *graphql.Response) int64 {
	return int64(len(r.Data)+len(key)) + 256
}

// Bytes returns the approximate bytes the cached answers hold.
func (c *ResponseCache) Bytes() int64 { return c.cache.Bytes() }

// add caches r under key, sized by its data and key.
func (c *ResponseCache) add(key string, r *graphql.Response) {
	c.cache.Add(key, r, responseSize(key, r))
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = (*ResponseCache)(nil)

// ExtensionName names the extension for gqlgen.
func (*ResponseCache) ExtensionName() string { return "ResponseCache" }

// Validate accepts every schema.
func (*ResponseCache) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse serves a cached response when there is one, and caches a fresh one otherwise.
func (c *ResponseCache) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return next(ctx)
	}
	key, ok := c.key(ctx, oc)
	if !ok {
		return next(ctx)
	}
	if resp, hit := c.cache.Get(key); hit {
		if p, ok := ctx.Value(cacheHitKey{}).(*bool); ok {
			*p = true
		}
		return resp
	}
	resp := next(ctx)
	if resp != nil && len(resp.Errors) == 0 {
		c.add(key, resp)
	}
	return resp
}

// cacheHitKey marks a request context whose *bool the cache sets on a hit (see observe).
type cacheHitKey struct{}

// observe times each operation and tells f its kind and whether the cache answered it.
func observe(f func(kind string, seconds float64, cacheHit bool)) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		oc := graphql.GetOperationContext(ctx)
		if oc == nil || oc.Operation == nil {
			return next(ctx)
		}
		start := time.Now()
		hit := false
		resp := next(context.WithValue(ctx, cacheHitKey{}, &hit))
		f(string(oc.Operation.Operation), time.Since(start).Seconds(), hit)
		return resp
	}
}

// key hashes the data version, the caller's role and row scope, operation name, query text and
// variables. Two tokens with the same role and scope share entries: they see the same data.
func (c *ResponseCache) key(ctx context.Context, oc *graphql.OperationContext) (string, bool) {
	vars, err := json.Marshal(oc.Variables) // map keys are sorted: a canonical form
	if err != nil {
		return "", false
	}
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(c.version(), 10)))
	h.Write([]byte{0})
	if id, ok := auth.FromContext(ctx); ok {
		h.Write([]byte(id.ScopeKey()))
	}
	h.Write([]byte{0})
	if rs, ok := kpi.RowScopeFrom(ctx); ok { // also a row scope set without an identity
		scope, err := json.Marshal(rs)
		if err != nil {
			return "", false
		}
		h.Write(scope)
	}
	h.Write([]byte{0})
	h.Write([]byte(oc.OperationName))
	h.Write([]byte{0})
	h.Write([]byte(oc.RawQuery))
	h.Write([]byte{0})
	h.Write(vars)
	return hex.EncodeToString(h.Sum(nil)), true
}
