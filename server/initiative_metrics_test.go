package server

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestInitiativeGaugesMatchEngine stores the demo's North pilot (declared in its ltc.yaml) and checks
// that the initiative gauges equal the engine's pilot report for the latest complete sprint, that
// the label cap applies to initiatives, and that a changed definition is picked up.
func TestInitiativeGaugesMatchEngine(t *testing.T) {
	d := loadDemo(t, "small")
	ctx := context.Background()
	// The engine's clock at the end of the demo data, as the gauges' (the shared engine reads the wall clock).
	eng := kpi.New(d.db, d.model, kpi.Options{Now: func() time.Time { return demoNow }, AdoptionFrom: d.cfg.KPI.AdoptionFrom})
	svc := initiative.New(d.db, eng)
	declared, err := d.cfg.InitiativeList()
	if err != nil || len(declared) != 1 || declared[0].ID != "north-pilot" {
		t.Fatalf("demo initiatives: %v %v", declared, err)
	}
	if err := svc.Sync(ctx, declared); err != nil {
		t.Fatal(err)
	}
	// The other tests of this binary share the warehouse: leave no initiative behind.
	t.Cleanup(func() {
		svc.Delete(ctx, "placebo")
		if err := svc.Sync(ctx, nil); err != nil {
			t.Error(err)
		}
	})
	in, err := svc.Get(ctx, "north-pilot")
	if err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	m := NewKPIMetrics(reg, KPIMetricsOptions{Engine: eng, DB: d.db, Now: func() time.Time { return demoNow }})
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	latest := int(demoNow.Sub(in.Start) / (time.Duration(in.SprintDays) * 24 * time.Hour))
	if latest < 3 {
		t.Fatalf("the demo pilot has %d complete sprints; want a few", latest)
	}
	const label = `initiative="north-pilot"`
	checkGauges(t, reg, "ltc_initiative_sprint", map[string]float64{label: float64(latest)})

	// The engine's full report, sprint by sprint: the gauges are its sprint `latest`.
	progress := map[string]float64{}
	for _, c := range []struct {
		k      initiative.KPI
		family string
		scale  float64
	}{
		{initiative.KPILeadConversion, "ltc_initiative_lead_conversion_ratio", 1},
		{initiative.KPISalesCycle, "ltc_initiative_sales_cycle_p50_seconds", 86400},
		{initiative.KPIAdoption, "ltc_initiative_adoption_ratio", 1},
	} {
		r, err := svc.PilotVsBaseline(ctx, *in, c.k)
		if err != nil {
			t.Fatal(err)
		}
		sp := r.Sprints[latest-1]
		if sp.Sprint != latest || !sp.Complete || !sp.Pilot.Defined {
			t.Fatalf("%s sprint %d: %+v", c.k, latest, sp)
		}
		checkGauges(t, reg, c.family, map[string]float64{label: sp.Pilot.Value * c.scale})
		if target, ok := in.Target(c.k); ok && !r.Target.WrongSide {
			progress[`initiative="north-pilot",kpi="`+string(c.k)+`"`] = (sp.Pilot.Value - r.Baseline.Value) / (target - r.Baseline.Value)
			// The engine's own progress in the last complete sprint is the same number.
			if r.Target == nil || r.Target.LatestProgress == nil || math.Abs(*r.Target.LatestProgress-progress[`initiative="north-pilot",kpi="`+string(c.k)+`"`]) > 1e-12 {
				t.Errorf("%s: engine latest progress %+v", c.k, r.Target)
			}
		}
	}
	if len(progress) != 3 {
		t.Fatalf("the demo pilot has trackable targets on %d of lead conversion, sales cycle and adoption; want 3", len(progress))
	}
	got := gauges(t, reg, "ltc_initiative_target_progress")
	for k, w := range progress {
		if math.Abs(got[k]-w) > 1e-12 {
			t.Errorf("progress %s = %v, engine %v", k, got[k], w)
		}
	}
	if len(got) != len(progress) {
		t.Errorf("progress series %v, want %v", got, progress)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "ltc_initiative_") && !strings.Contains(mf.GetHelp(), "Refreshed after each ETL commit") {
			t.Errorf("%s help lacks the refresh note: %q", mf.GetName(), mf.GetHelp())
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}

	// A second initiative that started later, on a non-pilot unit, with the cap at one: only the
	// later one is exported, and the drop is counted per family.
	placebo := *in
	placebo.ID, placebo.Name, placebo.Source = "placebo", "Placebo", initiative.SourceAPI
	placebo.PilotUnits, placebo.ControlUnits, placebo.Waves = []string{"Central"}, nil, nil
	placebo.Start = in.Start.Add(14 * 24 * time.Hour)
	placebo.BaselineTo = placebo.Start
	if _, err := svc.Upsert(ctx, placebo); err != nil {
		t.Fatal(err)
	}
	capped := prometheus.NewRegistry()
	mc := NewKPIMetrics(capped, KPIMetricsOptions{Engine: eng, DB: d.db, MaxLabelValues: 1, Now: func() time.Time { return demoNow }})
	if err := mc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	checkGauges(t, capped, "ltc_initiative_sprint", map[string]float64{`initiative="placebo"`: float64(latest - 1)})
	if dropped := gauges(t, capped, "ltc_kpi_label_values_dropped")[`metric="ltc_initiative_sprint"`]; dropped != 1 {
		t.Errorf("dropped initiatives = %v, want 1", dropped)
	}

	// A changed definition (the data version unchanged) is recomputed, not served from the memo.
	placebo.Targets = []initiative.Target{{KPI: initiative.KPILeadConversion, Value: 0.99}}
	if _, err := svc.Upsert(ctx, placebo); err != nil {
		t.Fatal(err)
	}
	if err := mc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if p := gauges(t, capped, "ltc_initiative_target_progress"); len(p) != 1 {
		t.Errorf("after adding a target: progress series %v", p)
	}
}
