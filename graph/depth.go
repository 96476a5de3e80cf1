package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// DepthLimit is a gqlgen extension that rejects operations whose field selections nest deeper than
// Max, with code TOO_COMPLEX. Fragments count at the depth where they are spread; introspection fields
// (__schema, __type) are not counted, so GraphiQL's introspection query passes whatever Max is.
type DepthLimit struct {
	Max int
}

var (
	_ graphql.HandlerExtension        = DepthLimit{}
	_ graphql.OperationContextMutator = DepthLimit{}
)

// ExtensionName names the extension in gqlgen's extension list.
func (DepthLimit) ExtensionName() string { return "DepthLimit" }

// Validate checks the limit when the extension is added to a server.
func (d DepthLimit) Validate(graphql.ExecutableSchema) error {
	if d.Max <= 0 {
		return fmt.Errorf("graph.DepthLimit: Max must be positive, got %d", d.Max)
	}
	return nil
}

// MutateOperationContext rejects the operation when it is deeper than Max.
func (d DepthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, d.Max, map[string]bool{}); depth > d.Max {
		err := gqlerror.Errorf("operation is nested deeper than the limit of %d", d.Max)
		errcode.Set(err, string(CodeTooComplex))
		return err
	}
	return nil
}

// selectionDepth returns the depth of set, stopping once it exceeds limit (so cycles and huge
// documents cost little). visiting guards against fragment cycles, which validation rejects anyway.
func selectionDepth(set ast.SelectionSet, limit int, visiting map[string]bool) int {
	max := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = 1
			if len(s.SelectionSet) > 0 && limit > 0 {
				d += selectionDepth(s.SelectionSet, limit-1, visiting)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, limit, visiting)
		case *ast.FragmentSpread:
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			d = selectionDepth(s.Definition.SelectionSet, limit, visiting)
			delete(visiting, s.Name)
		}
		if d > max {
			max = d
		}
		if max > limit {
			return max
		}
	}
	return max
}
