package graph

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeTooLarge: the answer would exceed the response size or result row limit.
const CodeTooLarge Code = "TOO_LARGE"

// Default per-request bounds.
const (
	DefaultMaxResponseBytes = 8 << 20
	DefaultMaxResultRows    = 10000
	// groupsPerDimension is the number of groups assumed for each groupBy dimension when an
	// operation's size is estimated before it runs (business units, regions and segments have a
	// few, owners and teams more); the result row limit checks the real count afterwards.
	groupsPerDimension = 20
	// maxSeriesBuckets is the engine's own limit on a series (kpi: more is BAD_SCOPE).
	maxSeriesBuckets = 5000
)

// bucketDays approximates each grain's bucket length, for estimating a series' length.
var bucketDays = map[string]float64{"DAY": 1, "WEEK": 7, "MONTH": 30, "QUARTER": 91, "YEAR": 365, "SPRINT": 14}

// RowEstimate is a gqlgen extension that refuses, with TOO_COMPLEX and before anything runs, an
// operation whose KPI fields would return more than Max result rows in all: each field with a
// scope counts its total, one row per series bucket (the range over the grain) and
// groupsPerDimension to the power of its groupBy dimensions. gqlgen's complexity counts fields and
// so does not see that ten aliases of a daily series grouped by every dimension are huge.
type RowEstimate struct {
	Max int
}

var (
	_ graphql.HandlerExtension        = RowEstimate{}
	_ graphql.OperationContextMutator = RowEstimate{}
)

// ExtensionName names the extension in gqlgen's extension list.
func (RowEstimate) ExtensionName() string { return "RowEstimate" }

// Validate checks the limit when the extension is added to a server.
func (r RowEstimate) Validate(graphql.ExecutableSchema) error {
	if r.Max <= 0 {
		return fmt.Errorf("graph.RowEstimate: Max must be positive, got %d", r.Max)
	}
	return nil
}

// MutateOperationContext refuses the operation when its estimated rows exceed Max.
func (r RowEstimate) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	rows := estimateRows(oc.Operation.SelectionSet, oc.Variables, map[string]bool{})
	if rows > float64(r.Max) {
		err := gqlerror.Errorf("operation would return about %.0f result rows (limit %d): ask for fewer groupBy dimensions, "+
			"a coarser grain, a shorter range or fewer fields per request", math.Min(rows, 1e15), r.Max)
		errcode.Set(err, string(CodeTooComplex))
		return err
	}
	return nil
}

// estimateRows sums the estimated rows of the root fields in set (through fragments).
func estimateRows(set ast.SelectionSet, vars map[string]any, visiting map[string]bool) float64 {
	var total float64
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total += fieldRows(s, vars)
		case *ast.InlineFragment:
			total += estimateRows(s.SelectionSet, vars, visiting)
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			total += estimateRows(s.Definition.SelectionSet, vars, visiting)
			delete(visiting, s.Name)
		}
	}
	return total
}

// fieldRows estimates the rows of one root field: 1 without a scope argument.
func fieldRows(f *ast.Field, vars map[string]any) float64 {
	if f.Definition == nil || f.Definition.Arguments.ForName("scope") == nil {
		return 1
	}
	args := f.ArgumentMap(vars)
	scope, _ := args["scope"].(map[string]any)
	buckets, groups := 0.0, 0.0
	if g, _ := scope["grain"].(string); g != "" {
		from, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(scope["from"]))
		to, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(scope["to"]))
		if days := to.Sub(from).Hours() / 24; days > 0 && bucketDays[g] > 0 {
			// The engine refuses more than 5000 buckets itself (BAD_SCOPE, a clearer answer).
			buckets = math.Min(math.Ceil(days/bucketDays[g])+1, maxSeriesBuckets)
		}
	}
	groupBy, _ := scope["groupBy"].([]any)
	byName, _ := scope["groupByNames"].([]any) // custom (or built-in) dimensions by name count alike
	if n := len(groupBy) + len(byName); n > 0 {
		groups = math.Pow(groupsPerDimension, float64(n))
		if f.Name == "explainChange" { // one split per dimension, not their combinations
			groups = groupsPerDimension * float64(n)
		}
	}
	// The total, its series, the groups, and each group's own series.
	return 1 + buckets + groups + groups*buckets
}

// rowCountKey carries the per-request count of result rows.
type rowCountKey struct{}

// countRows is the root-field middleware that adds each KPI result's rows (its total, groups,
// series points and list nodes) to the request's count and answers TOO_LARGE past max.
func countRows(max int) graphql.FieldMiddleware {
	return func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if fc == nil || fc.Object != "Query" {
			return next(ctx)
		}
		res, err := next(ctx)
		count, ok := ctx.Value(rowCountKey{}).(*atomic.Int64)
		if err != nil || !ok {
			return res, err
		}
		if n := count.Add(int64(resultRows(res))); n > int64(max) {
			return nil, Errorf(CodeTooLarge, "the answer has more than %d result rows: ask for fewer groupBy dimensions, a coarser grain or a shorter range", max)
		}
		return res, nil
	}
}

// resultRows counts a result's rows: 1, plus the entries of its Groups, Series and Nodes lists,
// and of each group's own Series.
func resultRows(res any) int {
	v := reflect.ValueOf(res)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 1
	}
	v = v.Elem()
	n := 1
	for _, name := range []string{"Groups", "Series", "Nodes"} {
		if f := v.FieldByName(name); f.IsValid() && f.Kind() == reflect.Slice {
			n += f.Len()
		}
	}
	if gs := v.FieldByName("Groups"); gs.IsValid() && gs.Kind() == reflect.Slice {
		for i := range gs.Len() {
			g := gs.Index(i)
			if g.Kind() != reflect.Pointer || g.IsNil() || g.Elem().Kind() != reflect.Struct {
				continue
			}
			if s := g.Elem().FieldByName("Series"); s.IsValid() && s.Kind() == reflect.Slice {
				n += s.Len()
			}
		}
	}
	return n
}

// limitResponse is the response middleware that starts the request's row count and replaces a
// response whose data exceeds maxBytes by a TOO_LARGE error (it is then not cached either).
func limitResponse(maxBytes int, refused func(context.Context, Code)) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		ctx = context.WithValue(ctx, rowCountKey{}, new(atomic.Int64))
		resp := next(ctx)
		if resp == nil || len(resp.Data) <= maxBytes {
			return resp
		}
		err := gqlerror.Errorf("the answer is over %d bytes: ask for fewer groupBy dimensions, a coarser grain, a shorter range or fewer fields", maxBytes)
		errcode.Set(err, string(CodeTooLarge))
		if refused != nil {
			refused(ctx, CodeTooLarge)
		}
		return &graphql.Response{Errors: gqlerror.List{err}, Extensions: resp.Extensions}
	}
}
