package auth

import (
	"context"
	"testing"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

func TestIdentityContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Error("identity in an empty context")
	}
	id := Identity{Name: "north", Role: Analyst, BusinessUnits: []string{"North"}}
	got, ok := FromContext(NewContext(context.Background(), id))
	if !ok || got.Name != "north" || got.Role != Analyst || !got.Scoped() {
		t.Errorf("FromContext = %+v, %v", got, ok)
	}
	if (Identity{Role: Admin}).Scoped() {
		t.Error("unscoped identity reports Scoped")
	}
}

func TestScopeKey(t *testing.T) {
	a := Identity{Name: "a", Role: Viewer, BusinessUnits: []string{"North", "South"}}
	b := Identity{Name: "b", Role: Viewer, BusinessUnits: []string{"South", "North"}}
	if a.ScopeKey() != b.ScopeKey() {
		t.Error("same role and scope in another order: different keys")
	}
	for _, other := range []Identity{
		{Role: Analyst, BusinessUnits: []string{"North", "South"}},
		{Role: Viewer, BusinessUnits: []string{"North"}},
		{Role: Viewer, Regions: []string{"North", "South"}},
		{Role: Viewer, BusinessUnits: []string{"NorthSouth"}},
		{Role: Viewer},
	} {
		if other.ScopeKey() == a.ScopeKey() {
			t.Errorf("%+v has the key of %+v", other, a)
		}
	}
}

func TestNewContextSetsRowScope(t *testing.T) {
	ctx := NewContext(context.Background(), Identity{Name: "n", Role: Viewer, BusinessUnits: []string{"North"}, Regions: []string{"EU"}})
	rs, ok := kpi.RowScopeFrom(ctx)
	if !ok || len(rs.BusinessUnits) != 1 || rs.BusinessUnits[0] != "North" || len(rs.Regions) != 1 || rs.Regions[0] != "EU" {
		t.Errorf("row scope = %+v, %v", rs, ok)
	}
	if _, ok := kpi.RowScopeFrom(NewContext(context.Background(), Identity{Name: "all", Role: Admin})); ok {
		t.Error("an unscoped identity set a row scope")
	}
}
