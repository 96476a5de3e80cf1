package kpi

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// RowScope restricts what a caller may see to the rows of some business units and regions (row-level
// security). The engine applies it to every query as a filter ANDed with the Scope's filters: a case,
// lead, invoice, payment, delivery, employee or spend row outside it is invisible, as if it were not
// in the warehouse. An empty list leaves that dimension unrestricted, so the zero RowScope sees all.
// Rows without a value for a restricted dimension are outside the scope.
type RowScope struct {
	BusinessUnits []string `json:"businessUnits"`
	Regions       []string `json:"regions"`
}

// rowScopeKey is the context key of the row scope.
type rowScopeKey struct{}

// WithRowScope returns a context whose engine queries see only the rows inside rs. It replaces any
// row scope ctx carries: set it once, where the caller is authenticated.
func WithRowScope(ctx context.Context, rs RowScope) context.Context {
	return context.WithValue(ctx, rowScopeKey{}, rs.normalized())
}

// RowScopeFrom returns the row scope of ctx and whether one was set (by WithRowScope).
func RowScopeFrom(ctx context.Context) (RowScope, bool) {
	rs, ok := ctx.Value(rowScopeKey{}).(RowScope)
	if !ok {
		return RowScope{}, false
	}
	return RowScope{BusinessUnits: slices.Clone(rs.BusinessUnits), Regions: slices.Clone(rs.Regions)}, true
}

// rowScopeOf returns the row scope ctx restricts queries to (the zero RowScope: none).
func rowScopeOf(ctx context.Context) RowScope {
	rs, _ := ctx.Value(rowScopeKey{}).(RowScope)
	return rs
}

// normalized returns a copy with each list sorted and without duplicates (nil when empty).
func (rs RowScope) normalized() RowScope {
	norm := func(xs []string) []string {
		if len(xs) == 0 {
			return nil
		}
		out := slices.Clone(xs)
		slices.Sort(out)
		return slices.Compact(out)
	}
	return RowScope{BusinessUnits: norm(rs.BusinessUnits), Regions: norm(rs.Regions)}
}

// Unrestricted reports whether rs lets every row through.
func (rs RowScope) Unrestricted() bool { return len(rs.BusinessUnits) == 0 && len(rs.Regions) == 0 }

// key is the canonical form of rs for cache keys ("" when unrestricted).
func (rs RowScope) key() string {
	rs = rs.normalized()
	if rs.Unrestricted() {
		return ""
	}
	return fmt.Sprintf("bu=%q;region=%q", rs.BusinessUnits, rs.Regions)
}

// sql returns " AND bu IN (?, …) AND region IN (?, …)" for the restricted dimensions, with bu and
// region the column expressions to test (constants of this package), and the values to bind.
func (rs RowScope) sql(bu, region string) (string, []any) {
	var b strings.Builder
	var args []any
	add := func(col string, vs []string) {
		if len(vs) == 0 {
			return
		}
		b.WriteString(" AND " + col + " IN (" + placeholders(len(vs)) + ")")
		for _, v := range vs {
			args = append(args, v)
		}
	}
	add(bu, rs.BusinessUnits)
	add(region, rs.Regions)
	return b.String(), args
}

// rowSQL is the row scope of ctx as a condition on the derived tables' columns (alias c).
func rowSQL(ctx context.Context) (string, []any) {
	return rowScopeOf(ctx).sql(builtinColumns["business_unit"], builtinColumns["region"])
}
