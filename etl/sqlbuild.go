package etl

import (
	"fmt"
	"strings"
)

// params collects the bound values of one statement: bind returns the placeholder ($1, $2, …)
// for a value, so SQL text never contains data, whatever order the text is assembled in.
type params struct{ args []any }

func (p *params) bind(v any) string {
	p.args = append(p.args, v)
	return fmt.Sprintf("$%d", len(p.args))
}

// ident quotes an identifier (a source column name from the config or a file header).
func ident(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// literal quotes a text as an SQL string literal, where a bound value cannot go (a view's text).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// intList is an SQL list literal of integers (duckdb-go does not bind a []int).
func intList[T int | int64](vs []T) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
