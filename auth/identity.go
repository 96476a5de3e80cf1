package auth

import (
	"context"
	"slices"
	"strings"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Identity is who made a request: the configured token's name, its role and its row scope.
type Identity struct {
	// Name is the token's name from the config (never the token itself); it keys rate limits and logs.
	Name string
	// Role is what the identity may do.
	Role Role
	// BusinessUnits and Regions limit the rows the KPI engine reads (empty: no limit on that dimension).
	BusinessUnits, Regions []string
}

// Scoped reports whether the identity sees only some business units or regions.
func (id Identity) Scoped() bool { return len(id.BusinessUnits) > 0 || len(id.Regions) > 0 }

// ScopeKey is a canonical string of the identity's role and row scope: two identities with the same
// key see exactly the same data (the response cache keys on it).
func (id Identity) ScopeKey() string {
	bu := slices.Sorted(slices.Values(id.BusinessUnits))
	rg := slices.Sorted(slices.Values(id.Regions))
	var b strings.Builder
	b.WriteString(id.Role.String())
	for _, part := range [][]string{bu, rg} {
		b.WriteByte(0)
		for _, v := range part {
			b.WriteString(v)
			b.WriteByte(1)
		}
	}
	return b.String()
}

type identityKey struct{}

// NewContext returns ctx carrying id and, for a scoped identity, its row scope for the KPI engine
// (kpi.WithRowScope), so every query, drill-down and initiative read under ctx is limited to it.
func NewContext(ctx context.Context, id Identity) context.Context {
	ctx = context.WithValue(ctx, identityKey{}, id)
	if id.Scoped() {
		ctx = kpi.WithRowScope(ctx, kpi.RowScope{BusinessUnits: id.BusinessUnits, Regions: id.Regions})
	}
	return ctx
}

// FromContext returns the identity NewContext stored in ctx.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
