package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ltc-analytics/ltc/auth"
)

// Authorization error codes.
const (
	// CodeUnauthenticated: the request carries no identity while roles are enforced (the server
	// normally answers such requests 401 before GraphQL runs).
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	// CodeForbidden: the caller's role (or row scope) does not allow the field.
	CodeForbidden Code = "FORBIDDEN"
)

// fieldRule is who may resolve a root field.
type fieldRule struct {
	role auth.Role
	// unscoped refuses identities limited to some business units or regions: the field reads rows
	// the KPI engine does not scope (bookkeeping, raw quarantined records) or changes shared state.
	unscoped bool
}

// fieldRules are the root fields that need more than the viewer role, keyed "Object.field"; the
// key "Object.*" covers every field of an object. Every other root field (health, freshness and
// the aggregate KPIs, initiatives and their reports, introspection) needs viewer. Viewers read
// aggregates; analysts drill down to cases, violations and per-employee ramp; admins read the ETL bookkeeping and
// the quarantine and change initiatives.
var fieldRules = map[string]fieldRule{
	"Query.cases":        {role: auth.Analyst},
	"Query.caseTimeline": {role: auth.Analyst},
	"Query.violations":   {role: auth.Analyst},
	"Query.ramp":         {role: auth.Analyst}, // per-employee names and monthly won value

	"Query.etlRuns":    {role: auth.Admin, unscoped: true},
	"Query.quarantine": {role: auth.Admin, unscoped: true},
	"Mutation.*":       {role: auth.Admin, unscoped: true},
	"Subscription.*":   {role: auth.Admin, unscoped: true},
}

// ruleFor returns the rule of a root field.
func ruleFor(object, field string) fieldRule {
	if r, ok := fieldRules[object+"."+field]; ok {
		return r
	}
	if r, ok := fieldRules[object+".*"]; ok {
		return r
	}
	return fieldRule{role: auth.Viewer}
}

// authorizeFields is the gqlgen field middleware that enforces fieldRules on root fields (the
// fields of Query, Mutation and Subscription; nested fields inherit their root's check). The
// caller comes from the context (auth.NewContext, set by the server). A refused field resolves to
// an error with code FORBIDDEN (or UNAUTHENTICATED without an identity) and null data; the other
// fields of the operation still resolve.
func authorizeFields(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || (fc.Object != "Query" && fc.Object != "Mutation" && fc.Object != "Subscription") {
		return next(ctx)
	}
	rule := ruleFor(fc.Object, fc.Field.Name)
	id, ok := auth.FromContext(ctx)
	switch {
	case !ok:
		return nil, &CodedError{Code: CodeUnauthenticated, Err: errors.New("authentication required")}
	case !id.Role.Includes(rule.role):
		return nil, Errorf(CodeForbidden, "forbidden: %s.%s needs the %s role", fc.Object, fc.Field.Name, rule.role)
	case rule.unscoped && id.Scoped():
		return nil, Errorf(CodeForbidden, "forbidden: %s.%s needs a token without business-unit or region limits", fc.Object, fc.Field.Name)
	}
	return next(ctx)
}
