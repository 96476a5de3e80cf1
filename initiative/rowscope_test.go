package initiative

import (
	"context"
	"reflect"
	"testing"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestRowScopeInitiatives checks the initiative reports under a row scope: the pilot (North) and
// control (South) units outside the scope are measured over nothing.
func TestRowScopeInitiatives(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	bg := context.Background()
	in := fxInitiative()
	north := kpi.WithRowScope(bg, kpi.RowScope{BusinessUnits: []string{"North"}})
	south := kpi.WithRowScope(bg, kpi.RowScope{BusinessUnits: []string{"South"}})
	for _, k := range KPIs() {
		all, err := svc.PilotVsBaseline(bg, in, k)
		if err != nil {
			t.Fatal(err)
		}
		n, err := svc.PilotVsBaseline(north, in, k)
		if err != nil {
			t.Fatal(err)
		}
		s, err := svc.PilotVsBaseline(south, in, k)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(n.Baseline, all.Baseline) || !reflect.DeepEqual(n.Pilot, all.Pilot) || n.Control.N != 0 {
			t.Errorf("%s under North: baseline %+v pilot %+v control %+v; unscoped %+v %+v", k, n.Baseline, n.Pilot, *n.Control, all.Baseline, all.Pilot)
		}
		if s.Baseline.N != 0 || s.Pilot.N != 0 || !reflect.DeepEqual(*s.Control, *all.Control) {
			t.Errorf("%s under South: baseline n %d pilot n %d control %+v; unscoped control %+v", k, s.Baseline.N, s.Pilot.N, *s.Control, *all.Control)
		}
		if k == KPILeadConversion && (all.Pilot.N == 0 || all.Control.N == 0) {
			t.Errorf("fixture: pilot n %d, control n %d", all.Pilot.N, all.Control.N)
		}
	}
	ro, err := svc.Rollout(north, in)
	if err != nil {
		t.Fatal(err)
	}
	all, err := svc.Rollout(bg, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Units) < 2 {
		t.Fatalf("fixture: %d rollout units unscoped", len(all.Units))
	}
	// Only North is listed under North: the other units would read as BEHIND, measured over nothing.
	if len(ro.Units) != 1 || ro.Units[0].BusinessUnit != "North" {
		t.Fatalf("rollout under North lists %+v, want North only", ro.Units)
	}
	for _, u := range all.Units {
		if u.BusinessUnit == "North" && (!reflect.DeepEqual(ro.Units[0].AdoptionAfter, u.AdoptionAfter) || u.AdoptionAfter.N == 0) {
			t.Errorf("North under North: %+v, unscoped %+v", ro.Units[0].AdoptionAfter, u.AdoptionAfter)
		}
	}
}
