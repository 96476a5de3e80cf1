package initiative

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// The initiative fixture (2025, UTC unless a zone is given). Pilot North, control South,
// baseline [01-01, 02-01), start 02-03 00:00 UTC, 14-day sprints, Now 03-10 00:00:
// sprint 1 [02-03, 02-17), sprint 2 [02-17, 03-03), sprint 3 [03-03, 03-10) (running).
//
// Leads (no events; * = converted):
//
//	North baseline  L1* 01-05, L2 01-10, L3 01-20, L4 01-31 23:59:59          → 1/4
//	North gap       X1* 02-02 23:59:59 (after the baseline, before the start: in neither)
//	North sprint 1  P1* 02-03 00:00:00 (boundary), P2 02-16 23:59:59,
//	                P3* 2025-02-17 00:30 +01:00 = 02-16 23:30 UTC                 → 2/3
//	North sprint 2  P4* 02-17 00:00:00 (boundary), P5* 03-02                       → 2/2
//	North sprint 3  P6 03-05                                                       → 0/1
//	North at Now    X2* 03-10 00:00:00 (excluded: windows end at Now)
//	South           S1* 02-05, S2 02-20, S3 03-04 → pilot window 1/3; sprints 1/1, 0/1, 0/1
//	West            W1 02-05
//
// Sales-cycle cases (opportunities with "Lead Created" and "Contract Signed" events, days between):
//
//	North baseline  C1 12-22-2024 → 01-11 (20 d), C2 01-05 → 01-15 (10 d), C3 01-01 → 01-31 (30 d)
//	North pilot     C4 02-01 → 02-06 (5 d, sprint 1), C5 02-10 → 02-18 (8 d, sprint 2),
//	                C6 02-25 → 03-01 (4 d, sprint 2)
//
// Rollout cases of South (wave planned 02-17; after = [02-17, 03-10), before = [01-27, 02-17)):
//
//	before  SB1 01-28 LC + CS (not adopted), SB2 02-10 LC only (adopted)             → 1/2
//	after   SA1 02-20 LC LQ OC NA Q CS (adopted), SA2 03-01 LC + CS, SA3 03-05 LC + CS → 1/3
//
// Adoption counts the non-gate stages of the standard branch up to the furthest reached: a case
// with LC and CS expects LC LQ OC NA Q CS (6) and records 2. North's pilot-window adoption
// (cases started in [02-03, 03-10)): C5, C6, both LC + CS → 0/2.
func newInitiativeFixture(t testing.TB) (*Service, *schema.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cet := time.FixedZone("CET", 3600)
	type lead struct {
		id, bu string
		at     time.Time
		conv   bool
	}
	leads := []lead{
		{"L1", "North", at("01-05"), true}, {"L2", "North", at("01-10"), false}, {"L3", "North", at("01-20"), false},
		{"L4", "North", at("01-31 23:59:59"), false}, {"X1", "North", at("02-02 23:59:59"), true},
		{"P1", "North", at("02-03"), true}, {"P2", "North", at("02-16 23:59:59"), false},
		{"P3", "North", time.Date(2025, 2, 17, 0, 30, 0, 0, cet), true},
		{"P4", "North", at("02-17"), true}, {"P5", "North", at("03-02"), true}, {"P6", "North", at("03-05"), false},
		{"X2", "North", at("03-10"), true},
		{"S1", "South", at("02-05"), true}, {"S2", "South", at("02-20"), false}, {"S3", "South", at("03-04"), false},
		{"W1", "West", at("02-05"), false},
	}
	for _, l := range leads {
		var opp any
		if l.conv {
			opp = "OPP-" + l.id
		}
		exec(`INSERT INTO leads (lead_id, created_at, business_unit, opportunity_id, _file) VALUES (?, ?, ?, ?, 'fx')`,
			l.id, l.at.UTC(), l.bu, opp)
	}
	model := schema.StandardModel()
	var seq int64
	event := func(c, act string, when time.Time) {
		seq++
		exec(`INSERT INTO stage_events (case_id, stage, activity, occurred_at, source, seq, _file) VALUES (?, ?, ?, ?, 'fx', ?, 'fx')`,
			c, model.StageOf(act), act, when.UTC(), seq)
	}
	opp := func(id, bu string) {
		exec(`INSERT INTO opportunities (opportunity_id, business_unit, product_line, status, _file) VALUES (?, ?, 'Basic', 'open', 'fx')`, id, bu)
	}
	for _, c := range []struct{ id, bu, start, signed string }{
		{"C1", "North", "2024-12-22", "01-11"}, {"C2", "North", "01-05", "01-15"}, {"C3", "North", "01-01", "01-31"},
		{"C4", "North", "02-01", "02-06"}, {"C5", "North", "02-10", "02-18"}, {"C6", "North", "02-25", "03-01"},
		{"SB1", "South", "01-28", "01-29"}, {"SA2", "South", "03-01", "03-02"}, {"SA3", "South", "03-05", "03-06"},
	} {
		opp(c.id, c.bu)
		start := time.Date(2024, 12, 22, 0, 0, 0, 0, time.UTC)
		if !strings.HasPrefix(c.start, "2024-") {
			start = at(c.start)
		}
		event(c.id, "Lead Created", start)
		event(c.id, "Contract Signed", at(c.signed))
	}
	opp("SB2", "South")
	event("SB2", "Lead Created", at("02-10"))
	opp("SA1", "South")
	for i, act := range []string{"Lead Created", "Lead Qualified", "Opportunity Created", "Needs Analysis", "Quote Sent", "Contract Signed"} {
		event("SA1", act, at("02-20").Add(time.Duration(i)*time.Hour))
	}
	eng := kpi.New(db, model, kpi.Options{Now: func() time.Time { return at("03-10") }})
	refresh(t, eng, db)
	return New(db, eng), db
}

// fxInitiative is the fixture's initiative; Start is given in CET to exercise zones.
func fxInitiative() Initiative {
	return Initiative{
		ID: "north-pilot", Name: "North pilot", PilotUnits: []string{"North"}, ControlUnits: []string{"South"},
		BaselineFrom: at("01-01"), BaselineTo: at("02-01"),
		Start:      time.Date(2025, 2, 3, 1, 0, 0, 0, time.FixedZone("CET", 3600)),
		SprintDays: 14,
		Targets:    []Target{{KPILeadConversion, 0.5}, {KPIAdoption, 0.5}},
	}
}

func TestPilotVsBaselineRates(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	r, err := svc.PilotVsBaseline(context.Background(), fxInitiative(), KPILeadConversion)
	if err != nil {
		t.Fatal(err)
	}
	checkSample := func(name string, s Sample, x, n int64) {
		t.Helper()
		if s.Successes != x || s.N != n || s.Defined != (n > 0) || (n > 0 && math.Abs(s.Value-float64(x)/float64(n)) > 1e-12) {
			t.Errorf("%s = %d/%d (%v), want %d/%d", name, s.Successes, s.N, s.Value, x, n)
		}
	}
	checkSample("baseline", r.Baseline, 1, 4)
	checkSample("pilot", r.Pilot, 4, 6)
	checkSample("control", *r.Control, 1, 3)
	// Change 4/6 − 1/4 = 5/12; relative 5/12 / (1/4) = 5/3.
	near(t, "change", *r.Change, 5.0/12, 1e-12)
	near(t, "relChange", *r.RelChange, 5.0/3, 1e-12)
	// z-test: pooled 5/10, SE = √(0.25 · (1/6 + 1/4)) = 0.3227486, z = (5/12) / SE = 1.2909944.
	near(t, "z", r.Significance.Z, 1.2909944, 1e-6)
	near(t, "p", *r.Significance.P, math.Erfc(1.2909944487358056/math.Sqrt2), 1e-9)
	// Pilot vs control in the pilot window: 4/6 vs 1/3, change 1/3.
	near(t, "control change", *r.ControlChange, 1.0/3, 1e-12)
	if r.VsControl == nil || r.VsControl.P == nil {
		t.Fatal("no pilot-vs-control test")
	}
	// Sprints: boundaries are half-open, the CET lead P3 falls in sprint 1, sprint 3 is running.
	want := []struct {
		from, to string
		x, n     int64
		cx, cn   int64
		complete bool
	}{
		{"02-03", "02-17", 2, 3, 1, 1, true},
		{"02-17", "03-03", 2, 2, 0, 1, true},
		{"03-03", "03-10", 0, 1, 0, 1, false},
	}
	if len(r.Sprints) != len(want) {
		t.Fatalf("%d sprints, want %d", len(r.Sprints), len(want))
	}
	for i, w := range want {
		s := r.Sprints[i]
		if s.Sprint != i+1 || !s.From.Equal(at(w.from)) || !s.To.Equal(at(w.to)) || s.Complete != w.complete || s.Baseline != 0.25 {
			t.Errorf("sprint %d: %d [%s, %s) complete %v baseline %v", i+1, s.Sprint, s.From, s.To, s.Complete, s.Baseline)
		}
		checkSample("sprint pilot", s.Pilot, w.x, w.n)
		checkSample("sprint control", *s.Control, w.cx, w.cn)
	}
	near(t, "sprint 1 change", *r.Sprints[0].Change, 2.0/3-0.25, 1e-12)
	// Target 0.5: progress (4/6 − 1/4) / (0.5 − 1/4) = 5/3; latest complete sprint (2: 2/2) → 3.
	if r.Target == nil || r.Target.Target != 0.5 || !r.Target.Reached {
		t.Fatalf("target: %+v", r.Target)
	}
	near(t, "progress", *r.Target.Progress, 5.0/3, 1e-12)
	near(t, "latest progress", *r.Target.LatestProgress, 3, 1e-12)
}

func TestPilotVsBaselineSalesCycle(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	r, err := svc.PilotVsBaseline(context.Background(), fxInitiative(), KPISalesCycle)
	if err != nil {
		t.Fatal(err)
	}
	// Baseline (signed in January): 20, 10, 30 days → median 20; pilot (signed from 02-03): C4 5,
	// C5 8, C6 4 → median 5. Every pilot case is shorter: U_pilot = 0, and with n = 3 + 3 the
	// continuity-corrected normal approximation gives p = 0.08086 (as R's wilcox.test).
	if r.Statistic != "median_days" || r.Baseline.N != 3 || r.Pilot.N != 3 || r.Baseline.Value != 20 || r.Pilot.Value != 5 {
		t.Errorf("baseline %+v pilot %+v", r.Baseline, r.Pilot)
	}
	near(t, "change", *r.Change, -15, 1e-9)
	near(t, "relChange", *r.RelChange, -0.75, 1e-9)
	near(t, "U", r.Significance.U, 0, 0)
	near(t, "p", *r.Significance.P, 0.08086, 5e-6)
	// Sprints: 1 → C4 (5 d); 2 → C5, C6 (median 6); 3 → none (undefined, no p-value).
	for i, w := range []struct {
		n   int64
		med float64
	}{{1, 5}, {2, 6}, {0, 0}} {
		s := r.Sprints[i]
		if s.Pilot.N != w.n || s.Pilot.Value != w.med || s.Pilot.Defined != (w.n > 0) {
			t.Errorf("sprint %d: %+v", i+1, s.Pilot)
		}
	}
	if r.Sprints[2].Significance.P != nil || r.Sprints[2].Change != nil {
		t.Errorf("empty sprint has a test: %+v", r.Sprints[2])
	}
	// Control (South) signed in the pilot window: SA1 (02-20 → 02-20 05:00), SA2 (1 d), SA3 (1 d).
	if r.Control == nil || r.Control.N != 3 {
		t.Errorf("control: %+v", r.Control)
	}
	if r.Target != nil {
		t.Errorf("no sales-cycle target, got %+v", r.Target)
	}
}

func TestSprintBoundariesAndZones(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	in := fxInitiative()
	// Start 02-03 01:00 CET = 02-03 00:00 UTC.
	for _, c := range []struct {
		t    time.Time
		want int
	}{
		{at("02-02 23:59:59"), 0},
		{at("02-03"), 1},
		{at("02-16 23:59:59"), 1},
		{time.Date(2025, 2, 17, 0, 30, 0, 0, berlin), 1}, // 02-16 23:30 UTC
		{at("02-17"), 2},
		{time.Date(2025, 2, 17, 1, 0, 0, 0, berlin), 2}, // 02-17 00:00 UTC
	} {
		if got := in.normalized().SprintOf(c.t); got != c.want {
			t.Errorf("SprintOf(%s) = %d, want %d", c.t, got, c.want)
		}
	}
	// Across a daylight-saving change sprints stay 14 × 24 h in UTC: a start at Monday 00:00 in
	// Berlin (CET) is 23:00 UTC; sprint 2 starts 14 days later at 23:00 UTC, which is 01:00 CEST.
	dst := Initiative{Start: time.Date(2025, 3, 24, 0, 0, 0, 0, berlin), SprintDays: 14}.normalized()
	ws := sprintWindows(dst, time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC))
	if len(ws) != 2 || !ws[0][0].Equal(time.Date(2025, 3, 23, 23, 0, 0, 0, time.UTC)) ||
		!ws[1][0].Equal(time.Date(2025, 4, 6, 23, 0, 0, 0, time.UTC)) || ws[1][0].In(berlin).Hour() != 1 ||
		!ws[1][1].Equal(time.Date(2025, 4, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("DST sprints: %v", ws)
	}
	if n := len(sprintWindows(dst, dst.Start)); n != 0 {
		t.Errorf("%d sprints at the start instant, want 0", n)
	}
}

func TestRolloutFixture(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	in := fxInitiative()
	in.ControlUnits = nil
	in.Waves = []Wave{{BusinessUnit: "South", PlannedAt: at("02-17")}}
	r, err := svc.Rollout(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// Bar: the adoption target 0.5.
	if r.Bar != 0.5 || r.BarSource != "target" || len(r.Units) != 3 {
		t.Fatalf("rollout: bar %v (%s), %d units", r.Bar, r.BarSource, len(r.Units))
	}
	north, south, west := r.Units[0], r.Units[1], r.Units[2]
	if north.BusinessUnit != "North" || north.Role != RolePilot || south.BusinessUnit != "South" || south.Role != RoleWave ||
		west.BusinessUnit != "West" || west.Role != RoleNone || west.Status != StatusNotPlanned || west.Behind {
		t.Fatalf("units: %+v", r.Units)
	}
	// South: before [01-27, 02-17) SB1, SB2 → 1/2; after [02-17, 03-10) SA1, SA2, SA3 → 1/3;
	// 21 days since the wave (≥ one sprint) and 1/3 < 0.5 → behind, gap 1/6.
	if south.AdoptionBefore.Successes != 1 || south.AdoptionBefore.N != 2 || south.AdoptionAfter.Successes != 1 ||
		south.AdoptionAfter.N != 3 || !south.AdoptionBefore.From.Equal(at("01-27")) || south.Status != StatusBehind || !south.Behind {
		t.Errorf("south: %+v", south)
	}
	near(t, "south gap", *south.Gap, 0.5-1.0/3, 1e-12)
	near(t, "south change", *south.AdoptionChange, 1.0/3-0.5, 1e-12)
	// Compliance: every South case signed without a contract review (missing): after 0/3, before 0/1.
	if south.ComplianceAfter.N != 3 || south.ComplianceAfter.Successes != 0 || south.ComplianceBefore.N != 1 {
		t.Errorf("south compliance: %+v / %+v", south.ComplianceBefore, south.ComplianceAfter)
	}
	// North (pilot from 02-03): C5, C6 started after → 0/2 < 0.5 → behind.
	if north.AdoptionAfter.N != 2 || north.Status != StatusBehind {
		t.Errorf("north: %+v", north)
	}

	// A wave in the future is planned; one that started less than a sprint ago is ramping up;
	// without an adoption target the bar is the pilot's adoption (0/2 = 0), so South is on track.
	in.Targets = nil
	in.Waves = []Wave{{BusinessUnit: "South", PlannedAt: at("03-01")}, {BusinessUnit: "West", PlannedAt: at("04-01")}}
	r, err = svc.Rollout(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.BarSource != "pilot" || r.Bar != 0 || r.Units[1].Status != StatusRampUp || r.Units[2].Status != StatusPlanned ||
		r.Units[2].AdoptionAfter.Defined || r.Units[0].Status != StatusOnTrack {
		t.Errorf("rollout: %+v", r)
	}
}

func TestInitiativeStore(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	ctx := context.Background()
	in := fxInitiative()
	in.Waves = []Wave{{BusinessUnit: "West", PlannedAt: at("03-03")}}
	got, err := svc.Upsert(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != SourceAPI || !got.Start.Equal(at("02-03")) || got.Start.Location() != time.UTC || !got.UpdatedAt.Equal(at("03-10")) {
		t.Errorf("upserted: %+v", got)
	}
	back, err := svc.Get(ctx, "north-pilot")
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != "North pilot" || len(back.PilotUnits) != 1 || back.ControlUnits[0] != "South" || back.SprintDays != 14 ||
		!back.BaselineTo.Equal(at("02-01")) || len(back.Waves) != 1 || !back.Waves[0].PlannedAt.Equal(at("03-03")) ||
		len(back.Targets) != 2 || back.Targets[0] != (Target{KPIAdoption, 0.5}) {
		t.Errorf("loaded: %+v", back)
	}
	// Replace: fewer targets, no waves.
	in.Targets, in.Waves, in.Name = nil, nil, "Renamed"
	if _, err := svc.Upsert(ctx, in); err != nil {
		t.Fatal(err)
	}
	list, err := svc.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "Renamed" || len(list[0].Targets) != 0 || len(list[0].Waves) != 0 {
		t.Fatalf("list: %+v, %v", list, err)
	}

	// Sync: config-declared initiatives are upserted; API ones stay; stale config ones go.
	cfgA := fxInitiative()
	cfgA.ID, cfgA.ControlUnits = "cfg-a", nil
	cfgB := cfgA
	cfgB.ID, cfgB.PilotUnits = "cfg-b", []string{"Atlantis"}
	err = svc.Sync(ctx, []Initiative{cfgA, cfgB})
	if !errors.Is(err, ErrUnknownUnit) || !strings.Contains(err.Error(), `"cfg-b"`) {
		t.Errorf("sync error = %v, want cfg-b's unknown unit", err)
	}
	if a, err := svc.Get(ctx, "cfg-a"); err != nil || a.Source != SourceConfig {
		t.Errorf("cfg-a: %+v, %v", a, err)
	}
	if err := svc.Sync(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, "cfg-a"); !errors.Is(err, ErrInitiativeNotFound) {
		t.Errorf("stale config initiative kept: %v", err)
	}
	if _, err := svc.Get(ctx, "north-pilot"); err != nil {
		t.Errorf("API initiative removed by sync: %v", err)
	}

	if err := svc.Delete(ctx, "north-pilot"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Delete(ctx, "north-pilot"); !errors.Is(err, ErrInitiativeNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestInitiativeValidation(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		mutate func(*Initiative)
		is     []error
		msg    string
	}{
		{"overlapping windows", func(in *Initiative) { in.BaselineTo = at("02-10") }, []error{ErrOverlappingWindows},
			"baseline ends 2025-02-10, after the pilot start 2025-02-03"},
		{"unknown unit", func(in *Initiative) { in.ControlUnits = []string{"Atlantis"} }, []error{ErrUnknownUnit}, "Atlantis (known: North, South, West)"},
		{"zero sprint", func(in *Initiative) { in.SprintDays = 0 }, []error{ErrBadSprint}, "0 days"},
		{"negative sprint", func(in *Initiative) { in.SprintDays = -14 }, []error{ErrBadSprint}, "-14 days"},
		{"wave before start", func(in *Initiative) { in.Waves = []Wave{{"West", at("01-15")}} }, []error{ErrWaveBeforeStart}, `"West" planned 2025-01-15`},
		{"several at once", func(in *Initiative) { in.SprintDays = 0; in.BaselineTo = at("03-01"); in.Name = "" },
			[]error{ErrBadSprint, ErrOverlappingWindows}, "name is required"},
		{"pilot is control", func(in *Initiative) { in.ControlUnits = []string{"North"} }, nil, `unit "North" is both pilot and control`},
		{"empty baseline", func(in *Initiative) { in.BaselineFrom = in.BaselineTo }, nil, "baseline window [2025-02-01, 2025-02-01) is empty"},
		{"bad id", func(in *Initiative) { in.ID = "no spaces" }, nil, `id "no spaces"`},
		{"rate target above 1", func(in *Initiative) { in.Targets = []Target{{KPIWinRate, 25}} }, nil, "rates are fractions"},
		{"unknown KPI", func(in *Initiative) { in.Targets = []Target{{"nps", 1}} }, nil, `unknown KPI "nps"`},
		{"no pilot", func(in *Initiative) { in.PilotUnits = nil }, nil, "at least one pilot unit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := fxInitiative()
			c.mutate(&in)
			_, err := svc.Upsert(ctx, in)
			if !errors.Is(err, ErrBadInitiative) {
				t.Fatalf("err = %v, want ErrBadInitiative", err)
			}
			for _, s := range c.is {
				if !errors.Is(err, s) {
					t.Errorf("err = %v, want %v", err, s)
				}
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err = %v, want it to mention %q", err, c.msg)
			}
			// Analyses validate the same way.
			if _, err := svc.PilotVsBaseline(ctx, in, KPIWinRate); !errors.Is(err, ErrBadInitiative) && c.name != "unknown unit" {
				t.Errorf("PilotVsBaseline err = %v", err)
			}
		})
	}
	if list, _ := svc.List(ctx); len(list) != 0 {
		t.Errorf("invalid initiatives stored: %+v", list)
	}
	if _, err := svc.PilotVsBaseline(ctx, fxInitiative(), "nps"); !errors.Is(err, kpi.ErrBadScope) {
		t.Errorf("unknown KPI: %v", err)
	}
	// An empty warehouse cannot judge units: accepted (e.g. config synced before the first ETL run).
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	empty := New(db, kpi.New(db, schema.StandardModel(), kpi.Options{}))
	if err := empty.Sync(ctx, []Initiative{fxInitiative()}); err != nil {
		t.Errorf("sync into an empty warehouse: %v", err)
	}
}

// TestTargetDirection: a target is read in the KPI's direction. A sales-cycle target of 10 days
// (baseline median 20, pilot 5) is reached by going down; one of 30 days is already beaten by the
// baseline, so it is on the wrong side: no progress (a worse pilot would read as progress), not
// reached, and the problem said.
func TestTargetDirection(t *testing.T) {
	svc, _ := newInitiativeFixture(t)
	in := fxInitiative()
	in.Targets = []Target{{KPISalesCycle, 10}}
	r, err := svc.PilotVsBaseline(context.Background(), in, KPISalesCycle)
	if err != nil {
		t.Fatal(err)
	}
	// Progress (5 − 20) / (10 − 20) = 1.5; the last complete sprint (2: median 6) meets 10 days.
	if tp := r.Target; tp == nil || tp.WrongSide || !tp.Reached || tp.Progress == nil {
		t.Fatalf("target 10 days: %+v", r.Target)
	}
	near(t, "progress", *r.Target.Progress, 1.5, 1e-12)
	in.Targets = []Target{{KPISalesCycle, 30}}
	r, err = svc.PilotVsBaseline(context.Background(), in, KPISalesCycle)
	if err != nil {
		t.Fatal(err)
	}
	if tp := r.Target; tp == nil || !tp.WrongSide || tp.Reached || tp.Progress != nil || tp.LatestProgress != nil ||
		!strings.Contains(tp.Problem, "wrong side of the baseline 20") {
		t.Errorf("target 30 days: %+v", r.Target)
	}
	if !Meets(kpi.LowerIsBetter, 6, 10) || Meets(kpi.LowerIsBetter, 11, 10) || !Meets(kpi.HigherIsBetter, 0.85, 0.85) || Meets(kpi.HigherIsBetter, 0.846, 0.85) {
		t.Error("Meets")
	}
}

// TestStoreTransaction: every write bumps the data version by exactly one, in the same
// transaction as the rows; a write the config-ownership rule refuses (checked inside that
// transaction) changes neither the rows nor the version.
func TestStoreTransaction(t *testing.T) {
	svc, db := newInitiativeFixture(t)
	ctx := context.Background()
	version := func() int64 {
		t.Helper()
		v, err := schema.DataVersion(ctx, db.Read)
		if err != nil {
			t.Fatal(err)
		}
		if v != db.Version() {
			t.Errorf("stored version %d, recorded %d", v, db.Version())
		}
		return v
	}
	v0 := version()
	in := fxInitiative()
	if _, err := svc.Upsert(ctx, in); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0+1 {
		t.Errorf("after upsert: version %d, want %d", v, v0+1)
	}
	cfg := fxInitiative()
	cfg.ID, cfg.Name = "from-config", "Declared"
	if err := svc.Sync(ctx, []Initiative{cfg}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0+2 {
		t.Errorf("after sync: version %d, want %d", v, v0+2)
	}
	// The API may neither change nor remove a config-declared initiative.
	api := cfg
	api.Source, api.Name = SourceAPI, "Changed through the API"
	if _, err := svc.Upsert(ctx, api); !errors.Is(err, ErrConfigOwned) || !errors.Is(err, ErrBadInitiative) ||
		!strings.Contains(err.Error(), "change it there") {
		t.Errorf("API upsert of a config initiative: %v, want ErrConfigOwned", err)
	}
	if err := svc.Delete(ctx, "from-config"); !errors.Is(err, ErrConfigOwned) || !strings.Contains(err.Error(), "remove it there") {
		t.Errorf("API delete of a config initiative: %v, want ErrConfigOwned", err)
	}
	if got, err := svc.Get(ctx, "from-config"); err != nil || got.Name != "Declared" || got.Source != SourceConfig {
		t.Errorf("config initiative after refused writes: %+v, %v", got, err)
	}
	if v := version(); v != v0+2 {
		t.Errorf("after refused writes: version %d, want %d", v, v0+2)
	}
	if err := svc.Delete(ctx, "nope"); !errors.Is(err, ErrInitiativeNotFound) || !strings.Contains(err.Error(), "from-config, north-pilot") {
		t.Errorf("delete of an unknown id: %v", err)
	}
	if err := svc.Delete(ctx, "north-pilot"); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v0+3 {
		t.Errorf("after delete: version %d, want %d", v, v0+3)
	}
}
