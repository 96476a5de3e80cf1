package graph

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// The initiative API on the KPI fixture (kpi_test.go: North has leads L1 L3 L4 and deals A1 A3
// A4, South L2 L5 and A2; the engine's clock reads 2025-06-01), with marketing spend added for
// March: North 2000 and South 1100.

// initiativeHandler returns the production handler (response cache on, as in serve) over the
// fixture, the warehouse and its engine.
func initiativeHandler(t *testing.T) (http.Handler, *schema.DB, *kpi.Engine) {
	t.Helper()
	db, eng := newKPIFixture(t)
	if _, err := db.Write.Exec(`INSERT INTO marketing_spend (period_start, period_end, channel, business_unit, amount, _file) VALUES
		('2025-03-01', '2025-03-31', 'Web', 'North', 2000, 'fx'), ('2025-03-01', '2025-03-31', 'Web', 'South', 1100, 'fx')`); err != nil {
		t.Fatal(err)
	}
	h := NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger(), DataVersion: db.Version})
	return h, db, eng
}

// pilotInput is initiative "north" as a GraphQL input literal: pilot North, control South,
// baseline January–February 2025, start 03-01, two-week sprints, a sales-cycle target of 5 days.
const pilotInput = `{id: "north", name: "North pilot", description: "Three-tier process in North",
	pilotUnits: ["North"], controlUnits: ["South"], baselineFrom: "2025-01-01T00:00:00Z",
	baselineTo: "2025-03-01T00:00:00Z", start: "2025-03-01T00:00:00Z", sprintDays: 14,
	targets: [{kpi: SALES_CYCLE, value: 5}]}`

// waveInput is initiative "wave": pilot North from 03-01, South following on 03-15, adoption target 0.9.
const waveInput = `{id: "wave", name: "Wave", pilotUnits: ["North"], baselineFrom: "2025-01-01T00:00:00Z",
	baselineTo: "2025-03-01T00:00:00Z", start: "2025-03-01T00:00:00Z",
	waves: [{businessUnit: "South", plannedAt: "2025-03-15T00:00:00Z"}], targets: [{kpi: ADOPTION, value: 0.9}]}`

const (
	sampleSel = `{ from to units value n successes }`
	testSel   = `{ test z u p significant }`
	reportSel = `{ initiativeId kpi unit higherIsBetter asOf baseline ` + sampleSel + ` pilot ` + sampleSel + ` change relChange
		significance ` + testSel + ` control ` + sampleSel + ` controlChange vsControl ` + testSel + `
		sprints { sprint from to complete pilot ` + sampleSel + ` baseline change significance ` + testSel + ` control { value n } }
		target { target progress latestProgress reached } }`
	rolloutSel = `{ initiativeId asOf bar barSource behind units { businessUnit role date status behind gap
		adoptionBefore ` + sampleSel + ` adoptionAfter ` + sampleSel + ` adoptionChange adoptionTest ` + testSel + `
		complianceBefore { value n } complianceAfter { value n } complianceChange } }`
	initiativeSel = `{ id name description pilotUnits controlUnits baselineFrom baselineTo start sprintDays
		waves { businessUnit plannedAt } targets { kpi value } source }`
	diagnosisSel = `{ from to bottleneck bottleneckShare valueStream { bottleneck cases { value n } }
		leadConversion ` + kv + ` winRate ` + kv + ` cycles { sales { p50Days ` + kv + ` } }
		adoption { rate ` + kv + ` } compliance { rate ` + kv + ` } wonValue ` + kv + `
		cost { spend leads wonDeals perLead perWonDeal unfiltered }
		stageOpportunities { rank stage score share cases medianDays p90Days rework }
		gateOpportunities { rank gate guards violations entered missing failed late rate } }`
)

func TestInitiativeGolden(t *testing.T) {
	h, _, _ := initiativeHandler(t)
	c := client.New(h)
	for _, in := range []string{pilotInput, waveInput} {
		var r struct{ UpsertInitiative struct{ ID string } }
		decode(t, c, `mutation { upsertInitiative(input: `+in+`) { id } }`, &r)
	}
	for _, tc := range []struct{ name, query string }{
		{"initiatives", `{ initiatives ` + initiativeSel + ` }`},
		{"initiative_pilot_report", `{ pilotReport(id: "north") ` + reportSel + ` }`},
		{"initiative_rollout", `{ rollout(id: "wave") ` + rolloutSel + ` }`},
		{"initiative_diagnosis", `{ diagnosis(scope: ` + march + `}) ` + diagnosisSel + ` }`},
		{"initiative_capability", `{ ramp(hiredFrom: "2024-01-01T00:00:00Z", hiredTo: "2025-06-01T00:00:00Z") { hiredFrom hiredTo asOf tenuredMedian tenuredSellers threshold hires { employeeId } ramped medianMonthsToRamp }
			certification(asOf: "2025-04-01T00:00:00Z") { asOf total { businessUnit employees certified share } units { businessUnit employees certified share } } }`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, post(t, c, tc.query))
		})
	}
}

type sampleJSON struct {
	Value        float64
	N, Successes int
}

type testJSON struct {
	Test        string
	Z, U        float64
	P           *float64
	Significant bool
}

type reportJSON struct {
	Kpi, Unit         string
	HigherIsBetter    bool
	Baseline, Pilot   sampleJSON
	Change, RelChange *float64
	Significance      testJSON
	Control           *sampleJSON
	ControlChange     *float64
	VsControl         *testJSON
	Sprints           []struct {
		Sprint   int
		From, To string
		Complete bool
		Pilot    sampleJSON
		Baseline float64
	}
	Target *struct {
		Target                   float64
		Progress, LatestProgress *float64
		Reached                  bool
	}
}

// decode posts query and decodes its data into v leniently (unselected struct fields stay zero,
// extra response fields are ignored); errors fail the test.
func decode(t *testing.T, c *client.Client, query string, v any) {
	t.Helper()
	resp, err := c.RawPost(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if resp.Errors != nil {
		t.Fatalf("%s: errors %s", query, resp.Errors)
	}
	b, _ := json.Marshal(resp.Data)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func nearPtr(p *float64, b float64) bool { return p != nil && near(*p, b) }

// TestPilotReportByHand checks pilot vs baseline and control on numbers worked out by hand.
func TestPilotReportByHand(t *testing.T) {
	h, _, _ := initiativeHandler(t)
	c := client.New(h)
	decode(t, c, `mutation { upsertInitiative(input: `+pilotInput+`) { id } }`, &map[string]any{})
	var resp struct{ PilotReport []reportJSON }
	decode(t, c, `{ pilotReport(id: "north", kpis: [LEAD_CONVERSION, SALES_CYCLE, WIN_RATE]) `+reportSel+` }`, &resp)
	if len(resp.PilotReport) != 3 {
		t.Fatalf("%d reports, want 3 in the order asked", len(resp.PilotReport))
	}
	lc, sc, wr := resp.PilotReport[0], resp.PilotReport[1], resp.PilotReport[2]
	if lc.Kpi != "LEAD_CONVERSION" || sc.Kpi != "SALES_CYCLE" || wr.Kpi != "WIN_RATE" {
		t.Fatalf("kpis %s %s %s", lc.Kpi, sc.Kpi, wr.Kpi)
	}

	// Lead conversion. Baseline [01-01, 03-01), North: L4 converted → 1/1. Pilot [03-01, 06-01),
	// North: L1 and L3 converted → 2/2. Both 100%: the pooled proportion is 1, the z-test has no
	// variance, so p is undefined (null), not "1".
	if lc.Unit != "RATIO" || !lc.HigherIsBetter || lc.Baseline != (sampleJSON{1, 1, 1}) || lc.Pilot != (sampleJSON{1, 2, 2}) ||
		!nearPtr(lc.Change, 0) || lc.Significance.P != nil || lc.Significance.Significant || lc.Significance.Test != "TWO_PROPORTION_Z" {
		t.Errorf("lead conversion: %+v", lc)
	}
	// Control South over the pilot window: L2 converted, L5 not → 1/2. Pilot 2/2 vs 1/2: pooled
	// p̂ = 3/4, SE = √(¾·¼·(½+½)) = 0.4330, z = 0.5 / 0.4330 = 1.1547, two-sided p = 0.2482 (normal
	// table: Φ(1.15) = 0.8749, Φ(1.16) = 0.8770).
	if lc.Control == nil || *lc.Control != (sampleJSON{0.5, 2, 1}) || !nearPtr(lc.ControlChange, 0.5) || lc.VsControl == nil ||
		math.Abs(lc.VsControl.Z-1.1547005) > 1e-6 || lc.VsControl.P == nil || math.Abs(*lc.VsControl.P-0.2482) > 1e-4 || lc.VsControl.Significant {
		t.Errorf("lead conversion vs control: control %+v change %v test %+v", lc.Control, lc.ControlChange, lc.VsControl)
	}
	// Sprints of 14 days from 03-01 to 06-01 (92 days): 7, the last [05-24, 06-01) running.
	// Sprint 1 [03-01, 03-15): L1 and L3 → 2/2; sprint 2 has no North lead.
	if n := len(lc.Sprints); n != 7 {
		t.Fatalf("%d sprints, want 7", n)
	}
	s1, s2, s7 := lc.Sprints[0], lc.Sprints[1], lc.Sprints[6]
	if s1.Sprint != 1 || s1.From != "2025-03-01T00:00:00Z" || s1.To != "2025-03-15T00:00:00Z" || !s1.Complete || s1.Pilot != (sampleJSON{1, 2, 2}) || s1.Baseline != 1 {
		t.Errorf("sprint 1: %+v", s1)
	}
	if s2.Pilot.N != 0 || !s2.Complete {
		t.Errorf("sprint 2: %+v", s2)
	}
	if s7.Sprint != 7 || s7.From != "2025-05-24T00:00:00Z" || s7.To != "2025-06-01T00:00:00Z" || s7.Complete {
		t.Errorf("sprint 7: %+v", s7)
	}

	// Sales cycle (days, first contract_signed − case start, placed by the signature). Baseline: A4
	// 02-10 − 02-01 = 9; pilot: A1 03-11 − 03-01 = 10; change +1, relative 1/9. Mann–Whitney with
	// one case a side: U = 1, μ = ½, σ² = 1·1/12·(2+1) = ¼; |U − μ| − ½ = 0, so z = 0 and p = 1.
	// Control South: A2 03-06 − 03-02 = 4 days. Target 5 days: progress (10 − 9) / (5 − 9) = −0.25,
	// the same for the last complete sprint with a signature (sprint 1, A1).
	if sc.Unit != "DAYS" || sc.HigherIsBetter || sc.Baseline.Value != 9 || sc.Baseline.N != 1 || sc.Pilot.Value != 10 || sc.Pilot.N != 1 ||
		!nearPtr(sc.Change, 1) || !nearPtr(sc.RelChange, 1.0/9) || sc.Significance.Test != "MANN_WHITNEY_U" ||
		sc.Significance.U != 1 || sc.Significance.Z != 0 || !nearPtr(sc.Significance.P, 1) {
		t.Errorf("sales cycle: %+v, test %+v", sc, sc.Significance)
	}
	if sc.Control == nil || sc.Control.Value != 4 || !nearPtr(sc.ControlChange, 6) {
		t.Errorf("sales cycle control: %+v %v", sc.Control, sc.ControlChange)
	}
	if sc.Target == nil || sc.Target.Target != 5 || !nearPtr(sc.Target.Progress, -0.25) || !nearPtr(sc.Target.LatestProgress, -0.25) || sc.Target.Reached {
		t.Errorf("sales cycle target: %+v", sc.Target)
	}
	// Win rate, by close date. Baseline: A4 won 02-10 → 1/1; pilot: A1 won 03-11, A3 lost 03-20 → 1/2.
	if wr.Baseline != (sampleJSON{1, 1, 1}) || wr.Pilot != (sampleJSON{0.5, 2, 1}) || !nearPtr(wr.Change, -0.5) || !nearPtr(wr.RelChange, -0.5) || wr.Target != nil {
		t.Errorf("win rate: %+v", wr)
	}
}

// TestRolloutFlags checks the rollout roles, dates and the behind-plan flag against the bar.
func TestRolloutFlags(t *testing.T) {
	h, _, _ := initiativeHandler(t)
	c := client.New(h)
	decode(t, c, `mutation { upsertInitiative(input: `+waveInput+`) { id } }`, &map[string]any{})
	var resp struct {
		Rollout struct {
			Bar       *float64
			BarSource *string
			Behind    int
			Units     []struct {
				BusinessUnit, Role, Date, Status string
				Behind                           bool
				Gap                              *float64
				AdoptionAfter                    sampleJSON
			}
		}
	}
	decode(t, c, `{ rollout(id: "wave") `+rolloutSel+` }`, &resp)
	r := resp.Rollout
	if !nearPtr(r.Bar, 0.9) || r.BarSource == nil || *r.BarSource != "TARGET" || len(r.Units) != 2 {
		t.Fatalf("rollout: %+v", r)
	}
	behind := 0
	for i, want := range []struct{ unit, role, date string }{{"North", "PILOT", "2025-03-01T00:00:00Z"}, {"South", "WAVE", "2025-03-15T00:00:00Z"}} {
		u := r.Units[i]
		if u.BusinessUnit != want.unit || u.Role != want.role || u.Date != want.date {
			t.Errorf("unit %d: %+v, want %+v", i, u, want)
		}
		// Both dates passed more than a sprint before 06-01: judged against the bar.
		wantBehind := u.AdoptionAfter.N == 0 || u.AdoptionAfter.Value < 0.9
		if u.Behind != wantBehind || (u.Status == "BEHIND") != wantBehind || (!wantBehind && u.Status != "ON_TRACK") {
			t.Errorf("unit %s: status %s behind %v with adoption after %+v, bar 0.9", u.BusinessUnit, u.Status, u.Behind, u.AdoptionAfter)
		}
		if u.AdoptionAfter.N > 0 && !nearPtr(u.Gap, 0.9-u.AdoptionAfter.Value) {
			t.Errorf("unit %s gap %v", u.BusinessUnit, u.Gap)
		}
		if u.Behind {
			behind++
		}
	}
	if r.Behind != behind {
		t.Errorf("behind = %d, units behind %d", r.Behind, behind)
	}
}

// TestDiagnosisByHand checks the diagnosis report on the fixture's March.
func TestDiagnosisByHand(t *testing.T) {
	h, _, _ := initiativeHandler(t)
	c := client.New(h)
	var resp struct {
		Diagnosis struct {
			Bottleneck      string
			BottleneckShare float64
			LeadConversion  struct{ Value float64 }
			Cost            struct {
				Spend               float64
				Leads, WonDeals     int
				PerLead, PerWonDeal *float64
				Unfiltered          []string
			}
			StageOpportunities []struct {
				Rank  int
				Stage string
				Score float64
				Share float64
				Cases int
			}
			GateOpportunities []struct {
				Rank             int
				Gate             string
				Violations, Late int
			}
			Report string
		}
	}
	decode(t, c, `{ diagnosis(scope: `+march+`, filters: [{dimension: REGION, values: ["EU"]}]}) { bottleneck bottleneckShare leadConversion { value }
		cost { spend leads wonDeals perLead perWonDeal unfiltered } stageOpportunities { rank stage score share cases }
		gateOpportunities { rank gate violations late } report } }`, &resp)
	d := resp.Diagnosis
	// Diagnosis measures the sales cycle (first staged event → first contract_signed), cohort by the
	// signature in March: A1 LC1 OC2 Q1 CR6 = 10 days, A2 LC1 OC1 Q2 = 4 days (its CR is after CS).
	// Σ 14: contract_review 6/14 is the bottleneck (kpi_test.go).
	if d.Bottleneck != "contract_review" || !near(d.BottleneckShare, 6.0/14) || d.LeadConversion.Value != 0.75 {
		t.Errorf("bottleneck %s %v, conversion %v", d.Bottleneck, d.BottleneckShare, d.LeadConversion.Value)
	}
	// Spend 2000 + 1100 in March; 4 leads, 2 won deals (A1, A2). The region filter cannot apply to spend.
	if c := d.Cost; c.Spend != 3100 || c.Leads != 4 || c.WonDeals != 2 || !nearPtr(c.PerLead, 775) || !nearPtr(c.PerWonDeal, 1550) ||
		!slices.Equal(c.Unfiltered, []string{"REGION"}) {
		t.Errorf("cost: %+v", c)
	}
	// Ranked by share × cases: opportunity_created 3/14 × 2, quote 3/14 × 2, contract_review 6/14 × 1
	// (equal scores in process order), then lead_created 2/14 × 2.
	if o := d.StageOpportunities; len(o) != 4 || o[0].Rank != 1 || o[0].Stage != "opportunity_created" || !near(o[0].Score, 6.0/14) || o[0].Cases != 2 ||
		o[1].Stage != "quote" || o[2].Stage != "contract_review" || o[2].Cases != 1 || !near(o[2].Score, 6.0/14) || o[2].Rank != 3 ||
		o[3].Stage != "lead_created" || !near(o[3].Score, 4.0/14) {
		t.Errorf("stage opportunities: %+v", o)
	}
	// A2 passed contract_review after signing: one late violation.
	if g := d.GateOpportunities; len(g) != 1 || g[0].Rank != 1 || g[0].Gate != "contract_review" || g[0].Violations != 1 || g[0].Late != 1 {
		t.Errorf("gate opportunities: %+v", g)
	}
	if !strings.Contains(d.Report, "bottleneck: Contract review at 42.9% of the sales cycle") || !strings.Contains(d.Report, "775.00 per lead") {
		t.Errorf("report:\n%s", d.Report)
	}
}

// gqlErrors posts query straight to h and returns its errors.
func gqlErrors(t *testing.T, h http.Handler, query string) gqlerror.List {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp struct{ Errors gqlerror.List }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("%s: %v: %s", query, err, rec.Body.String())
	}
	return resp.Errors
}

// TestInitiativeErrorCodes: bad definitions fail BAD_INITIATIVE with the reason in the message and
// its name in extensions.reasons; unknown ids NOT_FOUND; nothing is stored by a failed upsert.
func TestInitiativeErrorCodes(t *testing.T) {
	h, db, eng := initiativeHandler(t)
	ctx := context.Background()
	if err := initiative.New(db, eng).Sync(ctx, []initiative.Initiative{{ID: "from-config", Name: "Declared", PilotUnits: []string{"South"},
		BaselineFrom: day("01-01"), BaselineTo: day("03-01"), Start: day("03-01"), SprintDays: 14}}); err != nil {
		t.Fatal(err)
	}
	input := func(patch map[string]string) string {
		fields := map[string]string{"id": `"bad"`, "name": `"Bad"`, "pilotUnits": `["North"]`,
			"baselineFrom": `"2025-01-01T00:00:00Z"`, "baselineTo": `"2025-03-01T00:00:00Z"`, "start": `"2025-03-01T00:00:00Z"`}
		for k, v := range patch {
			fields[k] = v
		}
		var parts []string
		for k, v := range fields {
			parts = append(parts, k+": "+v)
		}
		slices.Sort(parts)
		return `mutation { upsertInitiative(input: {` + strings.Join(parts, ", ") + `}) { id } }`
	}
	for _, tc := range []struct {
		name, query, code string
		reasons           []string
		message           string
	}{
		{"overlapping windows", input(map[string]string{"baselineTo": `"2025-03-15T00:00:00Z"`}), "BAD_INITIATIVE",
			[]string{"OVERLAPPING_WINDOWS"}, "baseline ends 2025-03-15, after the pilot start 2025-03-01"},
		{"unknown pilot unit", input(map[string]string{"pilotUnits": `["Atlantis"]`}), "BAD_INITIATIVE",
			[]string{"UNKNOWN_UNIT"}, "unknown business unit: Atlantis (known: North, South)"},
		{"unknown control unit", input(map[string]string{"controlUnits": `["Mars"]`}), "BAD_INITIATIVE", []string{"UNKNOWN_UNIT"}, "Mars"},
		{"unknown wave unit", input(map[string]string{"waves": `[{businessUnit: "Venus", plannedAt: "2025-04-01T00:00:00Z"}]`}), "BAD_INITIATIVE", []string{"UNKNOWN_UNIT"}, "Venus"},
		{"sprint length 0", input(map[string]string{"sprintDays": `0`}), "BAD_INITIATIVE", []string{"BAD_SPRINT"}, "bad sprint length: 0 days"},
		{"sprint length negative", input(map[string]string{"sprintDays": `-14`}), "BAD_INITIATIVE", []string{"BAD_SPRINT"}, "bad sprint length: -14 days"},
		{"wave before start", input(map[string]string{"waves": `[{businessUnit: "South", plannedAt: "2025-02-01T00:00:00Z"}]`}), "BAD_INITIATIVE",
			[]string{"WAVE_BEFORE_START"}, `"South" planned 2025-02-01, before 2025-03-01`},
		{"several problems", input(map[string]string{"sprintDays": `0`, "baselineTo": `"2025-04-01T00:00:00Z"`}), "BAD_INITIATIVE",
			[]string{"OVERLAPPING_WINDOWS", "BAD_SPRINT"}, "bad sprint length"},
		{"rate target above 1", input(map[string]string{"targets": `[{kpi: LEAD_CONVERSION, value: 25}]`}), "BAD_INITIATIVE", nil, "rates are fractions in [0, 1]"},
		{"pilot unit also control", input(map[string]string{"controlUnits": `["North"]`}), "BAD_INITIATIVE", nil, `unit "North" is both pilot and control`},
		{"empty name", input(map[string]string{"name": `" "`}), "BAD_INITIATIVE", nil, "name is required"},
		{"bad id", input(map[string]string{"id": `"no spaces"`}), "BAD_INITIATIVE", nil, `id "no spaces"`},
		{"change a config initiative", input(map[string]string{"id": `"from-config"`}), "BAD_INITIATIVE", nil, "declared in the config"},
		{"delete a config initiative", `mutation { deleteInitiative(id: "from-config") }`, "BAD_INITIATIVE", nil, "declared in the config"},
		{"delete unknown", `mutation { deleteInitiative(id: "nope") }`, "NOT_FOUND", nil, `"nope"`},
		{"report unknown", `{ pilotReport(id: "nope") { kpi } }`, "NOT_FOUND", nil, `"nope"`},
		{"rollout unknown", `{ rollout(id: "nope") { asOf } }`, "NOT_FOUND", nil, `"nope"`},
		{"kpi twice", `{ pilotReport(id: "from-config", kpis: [ADOPTION, ADOPTION]) { kpi } }`, "BAD_ARGUMENT", nil, "ADOPTION listed twice"},
		{"ramp empty period", `{ ramp(hiredFrom: "2025-03-01T00:00:00Z", hiredTo: "2025-03-01T00:00:00Z") { ramped } }`, "BAD_SCOPE", nil, ""},
		{"diagnosis bad scope", `{ diagnosis(scope: {from: "2025-04-01T00:00:00Z", to: "2025-03-01T00:00:00Z"}) { bottleneck } }`, "BAD_SCOPE", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := gqlErrors(t, h, tc.query)
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one %s", errs, tc.code)
			}
			e := errs[0]
			var reasons []string
			if rs, ok := e.Extensions["reasons"].([]any); ok {
				for _, r := range rs {
					reasons = append(reasons, r.(string))
				}
			}
			if e.Extensions["code"] != tc.code || !slices.Equal(reasons, tc.reasons) || !strings.Contains(e.Message, tc.message) {
				t.Errorf("code %v reasons %v message %q; want %s %v containing %q", e.Extensions["code"], reasons, e.Message, tc.code, tc.reasons, tc.message)
			}
		})
	}
	var resp struct{ Initiatives []struct{ ID, Source string } }
	decode(t, client.New(h), `{ initiatives { id source } }`, &resp)
	if len(resp.Initiatives) != 1 || resp.Initiatives[0].ID != "from-config" || resp.Initiatives[0].Source != "CONFIG" {
		t.Errorf("after the failed mutations: %+v", resp.Initiatives)
	}
}

// TestInitiativeMutations: upsert, replace and delete, each visible at once although the response
// cache is on (every mutation bumps the data version); mutations are refused over GET.
func TestInitiativeMutations(t *testing.T) {
	h, db, _ := initiativeHandler(t)
	c := client.New(h)
	type list struct {
		Initiatives []struct {
			ID, Name   string
			SprintDays int
		}
		Health struct{ DataVersion int }
	}
	const q = `{ initiatives { id name sprintDays } health { dataVersion } }`
	var r0 list
	decode(t, c, q, &r0)
	if len(r0.Initiatives) != 0 {
		t.Fatalf("fixture has initiatives: %+v", r0)
	}
	v0 := int64(r0.Health.DataVersion) // the fixture bumped the table without SetVersion

	var up struct {
		UpsertInitiative struct {
			ID, Source string
			SprintDays int
			Targets    []struct {
				Kpi   string
				Value float64
			}
		}
	}
	decode(t, c, `mutation { upsertInitiative(input: {id: "n1", name: "First", pilotUnits: ["North"], baselineFrom: "2025-01-01T00:00:00Z",
		baselineTo: "2025-03-01T00:00:00Z", start: "2025-03-01T00:00:00Z", targets: [{kpi: LEAD_CONVERSION, value: 0.25}]}) { id source sprintDays targets { kpi value } } }`, &up)
	if u := up.UpsertInitiative; u.ID != "n1" || u.Source != "API" || u.SprintDays != 14 || len(u.Targets) != 1 || u.Targets[0].Kpi != "LEAD_CONVERSION" {
		t.Errorf("upsert returned %+v (sprint length defaults to 14)", u)
	}
	if db.Version() != v0+1 {
		t.Errorf("data version %d after upsert, want %d", db.Version(), v0+1)
	}
	var r1 list
	decode(t, c, q, &r1)
	if len(r1.Initiatives) != 1 || r1.Initiatives[0].Name != "First" || r1.Health.DataVersion != int(v0+1) {
		t.Errorf("after upsert: %+v", r1)
	}
	decode(t, c, `mutation { upsertInitiative(input: {id: "n1", name: "Renamed", pilotUnits: ["North"], baselineFrom: "2025-01-01T00:00:00Z",
		baselineTo: "2025-03-01T00:00:00Z", start: "2025-03-01T00:00:00Z", sprintDays: 7}) { id } }`, &map[string]any{})
	var r2 list
	decode(t, c, q, &r2)
	if len(r2.Initiatives) != 1 || r2.Initiatives[0].Name != "Renamed" || r2.Initiatives[0].SprintDays != 7 {
		t.Errorf("after replace: %+v", r2)
	}
	var one struct{ Initiative *struct{ Name string } }
	decode(t, c, `{ initiative(id: "n1") { name } }`, &one)
	if one.Initiative == nil || one.Initiative.Name != "Renamed" {
		t.Errorf("initiative(n1) = %+v", one.Initiative)
	}
	decode(t, c, `{ initiative(id: "nope") { name } }`, &one)
	if one.Initiative != nil {
		t.Errorf("initiative(nope) = %+v, want null", one.Initiative)
	}

	// A mutation over GET is refused (a link must not change anything) and changes nothing.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graphql?query="+url.QueryEscape(`mutation { deleteInitiative(id: "n1") }`), nil))
	if rec.Code == http.StatusOK && !strings.Contains(rec.Body.String(), "errors") {
		t.Errorf("GET mutation: %d %s", rec.Code, rec.Body.String())
	}

	var del struct{ DeleteInitiative bool }
	decode(t, c, `mutation { deleteInitiative(id: "n1") }`, &del)
	var r3 list
	decode(t, c, q, &r3)
	if !del.DeleteInitiative || len(r3.Initiatives) != 0 {
		t.Errorf("after delete: %v %+v", del, r3)
	}
}

// TestInitiativeMutationsReadOnly: a replica's read-only warehouse refuses mutations with READ_ONLY.
func TestInitiativeMutationsReadOnly(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/ro.duckdb"
	w, err := schema.Open(ctx, path, schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := schema.Open(ctx, path, schema.Options{Threads: 1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := kpi.New(db, schema.StandardModel(), kpi.Options{})
	h := NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger()})
	for _, q := range []string{`mutation { upsertInitiative(input: ` + pilotInput + `) { id } }`, `mutation { deleteInitiative(id: "north") }`} {
		errs := gqlErrors(t, h, q)
		if len(errs) != 1 || errs[0].Extensions["code"] != "READ_ONLY" {
			t.Errorf("%s: %v, want READ_ONLY", q, errs)
		}
	}
}
