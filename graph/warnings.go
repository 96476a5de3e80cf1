package graph

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
)

// Warnings about an answer that is correct but probably not what the client meant (a filter value
// no case has, an unknown case id) go to the response's extensions.warnings, so a result is never
// silently empty.

type warningsKey struct{}

type warnings struct {
	mu   sync.Mutex
	list []string
}

// warn adds a warning to the response of ctx's request (a no-op outside a request).
func warn(ctx context.Context, format string, args ...any) {
	w, ok := ctx.Value(warningsKey{}).(*warnings)
	if !ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.list, msg) {
		w.list = append(w.list, msg)
	}
}

// collectWarnings is the response middleware that gathers the resolvers' warnings into
// extensions.warnings.
func collectWarnings(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	w := &warnings{}
	resp := next(context.WithValue(ctx, warningsKey{}, w))
	w.mu.Lock()
	defer w.mu.Unlock()
	if resp != nil && len(w.list) > 0 {
		if resp.Extensions == nil {
			resp.Extensions = map[string]any{}
		}
		resp.Extensions["warnings"] = w.list
	}
	return resp
}
