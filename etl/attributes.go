package etl

import (
	"context"
	"database/sql"
	"strings"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// attributesExpr is the SQL value of a target's attributes map: one entry per attributes.<name>
// column of the spec, each read, value-mapped and defaulted like a text field (valueExpr), and
// left out when its value is NULL; NULL when the spec maps no attribute. Names are bound values.
func attributesExpr(ctx context.Context, conn *sql.Conn, p *params, spec *source.Spec, st *staged,
	resolve func(string) string, lk *lookups) (string, error) {
	attrs := spec.Attributes()
	if len(attrs) == 0 {
		return "NULL::" + string(schema.Attributes), nil
	}
	entries := make([]string, len(attrs))
	for i, a := range attrs {
		v, err := valueExpr(ctx, conn, p, spec, schema.Field{Name: source.AttributePrefix + a, Type: schema.String}, st, resolve, lk)
		if err != nil {
			return "", err
		}
		entries[i] = "{'k': " + p.bind(a) + "::VARCHAR, 'v': " + v + "}"
	}
	return "map_from_entries(list_filter([" + strings.Join(entries, ", ") + "], x -> x.v IS NOT NULL))", nil
}
