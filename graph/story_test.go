package graph

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

// storyJSON is what the story test reads through the API: the initiative, the KPIs of all units
// over its baseline window, its pilot report, the same report with the control units as the pilot
// (a placebo), and its rollout.
type storyJSON struct {
	Initiative struct {
		BaselineFrom, BaselineTo, Start string
		ControlUnits                    []string
		Waves                           []struct {
			BusinessUnit, PlannedAt string
		}
	}
	LeadConversion struct {
		Total struct {
			Value float64
			N     int
		}
	}
	ValueStream struct {
		Total struct {
			Bottleneck *string
			Stages     []struct {
				Stage string
				Share struct {
					Value float64
					N     int
				}
			}
		}
	}
	Adoption struct {
		Total struct {
			Rate struct {
				Value float64
				N     int
			}
		}
	}
	PilotReport []reportJSON
	// Placebo is the pilot report of the control units over the same windows (no change expected).
	Placebo []reportJSON
	Rollout struct {
		Units []struct {
			BusinessUnit, Role, Date, Status string
			AdoptionBefore, AdoptionAfter    sampleJSON
			AdoptionTest                     testJSON
		}
	}
}

// story builds the demo warehouse of seed at now through the real ETL, syncs its configured
// initiative as `ltc serve` does, and reads the story through the production handler.
func story(t *testing.T, seed int64, now time.Time) storyJSON {
	t.Helper()
	w := testwarehouse.DemoWith(t, synth.Options{Size: "small", Seed: seed, Now: now})
	declared, err := w.Config.InitiativeList()
	if err != nil {
		t.Fatal(err)
	}
	if err := initiative.New(w.DB, w.Engine).Sync(context.Background(), declared); err != nil {
		t.Fatal(err)
	}
	c := client.New(NewHandler(NewResolver(Deps{DB: w.DB, KPI: w.Engine, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger()}))
	var s storyJSON
	decode(t, c, `{ initiative(id: "north-pilot") { baselineFrom baselineTo start controlUnits waves { businessUnit plannedAt } } }`, &s)
	base := fmt.Sprintf(`{from: %q, to: %q}`, s.Initiative.BaselineFrom, s.Initiative.BaselineTo)
	decode(t, c, `{
		leadConversion(scope: `+base+`) { total { value n } }
		valueStream(scope: `+base+`, cycle: SALES) { total { bottleneck stages { stage share { value n } } } }
		adoption(scope: `+base+`) { total { rate { value n } } }
		pilotReport(id: "north-pilot", kpis: [LEAD_CONVERSION, SALES_CYCLE, ADOPTION]) `+reportSel+`
		rollout(id: "north-pilot") `+rolloutSel+`
	}`, &s)
	decode(t, c, `mutation { upsertInitiative(input: {id: "placebo", name: "Placebo: the control units as pilot",
		pilotUnits: `+jsonString(s.Initiative.ControlUnits)+`, baselineFrom: "`+s.Initiative.BaselineFrom+`",
		baselineTo: "`+s.Initiative.BaselineTo+`", start: "`+s.Initiative.Start+`"}) { id } }`, &struct{}{})
	var pl struct{ PilotReport []reportJSON }
	decode(t, c, `{ pilotReport(id: "placebo", kpis: [LEAD_CONVERSION, SALES_CYCLE, ADOPTION]) `+reportSel+` }`, &pl)
	s.Placebo = pl.PilotReport
	return s
}

func (s storyJSON) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "baseline %s..%s: lead conversion %.3f (n %d), adoption %.3f (n %d), sales cycle bottleneck %v\n",
		s.Initiative.BaselineFrom[:10], s.Initiative.BaselineTo[:10], s.LeadConversion.Total.Value, s.LeadConversion.Total.N,
		s.Adoption.Total.Rate.Value, s.Adoption.Total.Rate.N, deref(s.ValueStream.Total.Bottleneck))
	for _, st := range s.ValueStream.Total.Stages {
		if st.Share.Value > 0.005 {
			fmt.Fprintf(&b, "  %-20s %.3f (n %d)\n", st.Stage, st.Share.Value, st.Share.N)
		}
	}
	p := optFloat
	for _, r := range s.PilotReport {
		fmt.Fprintf(&b, "%s: baseline %.3f (n %d) → pilot %.3f (n %d), rel %s, p %s; control %.3f (n %d), vs control p %s\n",
			r.Kpi, r.Baseline.Value, r.Baseline.N, r.Pilot.Value, r.Pilot.N, p(r.RelChange), p(r.Significance.P),
			r.Control.Value, r.Control.N, p(r.VsControl.P))
		for _, sp := range r.Sprints {
			fmt.Fprintf(&b, "  sprint %2d %s: %.3f (n %d)\n", sp.Sprint, sp.From[:10], sp.Pilot.Value, sp.Pilot.N)
		}
	}
	for _, r := range s.Placebo {
		fmt.Fprintf(&b, "control as pilot, %s: baseline %.3f (n %d) → %.3f (n %d), rel %s, p %s\n", r.Kpi,
			r.Baseline.Value, r.Baseline.N, r.Pilot.Value, r.Pilot.N, p(r.RelChange), p(r.Significance.P))
	}
	for _, u := range s.Rollout.Units {
		fmt.Fprintf(&b, "rollout %-10s %-7s %s %-9s adoption %.3f (n %d) → %.3f (n %d), p %s\n", u.BusinessUnit, u.Role,
			u.Date[:10], u.Status, u.AdoptionBefore.Value, u.AdoptionBefore.N, u.AdoptionAfter.Value, u.AdoptionAfter.N,
			p(u.AdoptionTest.P))
	}
	return b.String()
}

// TestStory checks that the demo tells the story of DESIGN §1 as our own KPI definitions measure
// it, read through the production GraphQL handler as a client would: the demo's default seed on
// today's date (as `make run` shows it) and two other seeds on the fixed demo date. The synthetic
// data is random, so each number is checked within a tolerance, never pinned.
func TestStory(t *testing.T) {
	if testing.Short() {
		t.Skip("three demo warehouses skipped in -short mode")
	}
	for _, tc := range []struct {
		name string
		seed int64
		now  time.Time
	}{
		{"seed 1 today", 1, time.Now().UTC()},
		{"seed 2", 2, testwarehouse.DemoNow},
		{"seed 3", 3, testwarehouse.DemoNow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := story(t, tc.seed, tc.now)
			t.Logf("seed %d at %s:\n%s", tc.seed, tc.now.Format(time.DateTime), s)
			checkStory(t, s)
		})
	}
}

// checkStory applies the story's tolerances.
func checkStory(t *testing.T, s storyJSON) {
	t.Helper()
	in := func(what string, v, lo, hi float64) {
		t.Helper()
		if v < lo || v > hi {
			t.Errorf("%s = %.3f, want in [%.3f, %.3f]", what, v, lo, hi)
		}
	}
	pOf := func(what string, st *testJSON) float64 {
		t.Helper()
		if st == nil || st.P == nil {
			t.Fatalf("%s: no p-value", what)
		}
		return *st.P
	}
	significant := func(what string, st *testJSON) {
		t.Helper()
		if p := pOf(what, st); p >= 0.05 {
			t.Errorf("%s: p = %.3g, want < 0.05", what, p)
		}
	}
	notSignificant := func(what string, st *testJSON) {
		t.Helper()
		if p := pOf(what, st); p < 0.05 {
			t.Errorf("%s: p = %.3g, want ≥ 0.05 (not significant)", what, p)
		}
	}

	// Baseline: the initiative's baseline window, all units.
	in("baseline lead conversion", s.LeadConversion.Total.Value, 0.12, 0.18)
	in("baseline adoption", s.Adoption.Total.Rate.Value, 0.38, 0.52)
	share := -1.0
	for _, st := range s.ValueStream.Total.Stages {
		if st.Stage == "solution_design" {
			share = st.Share.Value
		}
	}
	in("baseline solution design share of the sales cycle", share, 0.29, 0.41)
	if b := s.ValueStream.Total.Bottleneck; b == nil || *b != "solution_design" {
		t.Errorf("baseline sales-cycle bottleneck = %v, want solution_design", deref(b))
	}

	// The North pilot against its baseline and the control unit(s), over the pilot window and
	// sprint by sprint (complete sprints after the four-sprint ramp).
	reports := map[string]reportJSON{}
	for _, r := range s.PilotReport {
		reports[r.Kpi] = r
	}
	late := func(r reportJSON, minN int) []float64 {
		var v []float64
		for _, sp := range r.Sprints {
			if sp.Sprint > 4 && sp.Complete && sp.Pilot.N >= minN {
				v = append(v, sp.Pilot.Value)
			}
		}
		if len(v) < 5 {
			t.Fatalf("%s: %d complete sprints after the ramp", r.Kpi, len(v))
		}
		return v
	}
	conv := reports["LEAD_CONVERSION"]
	in("North baseline lead conversion", conv.Baseline.Value, 0.12, 0.18)
	in("North pilot lead conversion", conv.Pilot.Value, 0.21, 0.29)
	in("North lead conversion, mean of the sprints after the ramp", mean(late(conv, 1)), 0.22, 0.30)
	significant("North lead conversion vs baseline", &conv.Significance)
	significant("North lead conversion vs control", conv.VsControl)

	cyc := reports["SALES_CYCLE"]
	if cyc.RelChange == nil {
		t.Fatal("sales cycle: no relative change")
	}
	in("North median sales cycle, pilot vs baseline", *cyc.RelChange, -0.42, -0.15)
	significant("North sales cycle vs baseline", &cyc.Significance)
	if cyc.Control == nil || cyc.Pilot.Value >= cyc.Control.Value {
		t.Errorf("North sales cycle %.1f days is not below the control's %v", cyc.Pilot.Value, cyc.Control)
	}
	significant("North sales cycle vs control", cyc.VsControl)
	in("North sales cycle, median of the sprints after the ramp (n ≥ 3) / baseline",
		median(late(cyc, 3))/cyc.Baseline.Value, 0.55, 0.88)

	ad := reports["ADOPTION"]
	in("North pilot adoption", ad.Pilot.Value, 0.78, 0.92)
	in("North adoption, mean of the sprints after the ramp", mean(late(ad, 1)), 0.80, 0.95)
	significant("North adoption vs baseline", &ad.Significance)
	significant("North adoption vs control", ad.VsControl)

	// The control units, measured as if they had piloted over the same windows: flat.
	for _, r := range s.Placebo {
		notSignificant("control "+r.Kpi+" vs its baseline", &r.Significance)
		if r.Unit == "RATIO" && (r.Change == nil || math.Abs(*r.Change) > 0.06) {
			t.Errorf("control %s: change %s, want within ±0.06", r.Kpi, optFloat(r.Change))
		}
	}
	if len(s.Placebo) != 3 {
		t.Errorf("control: %d reports, want 3", len(s.Placebo))
	}

	// Rollout: South's wave lifts its adoption after the wave date; the control stays flat.
	var wave, control bool
	for _, u := range s.Rollout.Units {
		switch u.Role {
		case "WAVE":
			wave = true
			in(u.BusinessUnit+" adoption lift after its wave", u.AdoptionAfter.Value-u.AdoptionBefore.Value, 0.12, 0.5)
			significant(u.BusinessUnit+" adoption after vs before its wave", &u.AdoptionTest)
		case "CONTROL":
			control = true
			notSignificant(u.BusinessUnit+" (control) adoption after vs before", &u.AdoptionTest)
		}
	}
	if !wave || !control {
		t.Errorf("rollout: wave unit %v, control unit %v", wave, control)
	}
}

// optFloat formats an optional number with three significant digits, "n/a" when absent.
func optFloat(x *float64) string {
	if x == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3g", *x)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}
