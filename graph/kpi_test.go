package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ltc-analytics/ltc/internal/testwarehouse"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// The KPI fixture: five cases on the ltc-standard model, 2025, UTC. Most queries use March,
// [03-01, 04-01) (31 days), whose previous period is [01-29, 03-01).
//
//	case lead BU    owner (team)  product      opportunity        events (seq in listing order)
//	A1   L1   North E1 (Alpha)    Basic        won 03-11, 1000    LC 03-01, OC 03-02, Q 03-04, CR pass 03-05,
//	                                                              CS 03-11, DS 03-12, DA 03-21, INV 03-23, CC 03-31
//	A2   L2   South E2 (Beta)     Basic        won 03-06, 400     LC 03-02, OC 03-03, Q 03-04, CS 03-06,
//	                                                              CR pass 03-07 (late)
//	A3   L3   North E1 (Alpha)    Basic        lost 03-20, 0      LC 03-05, OC 03-06, "Coffee chat" 03-07 (personal)
//	A4   L4   North E1 (Alpha)    Basic        won 02-10, 300     LC 02-01, OC 02-02, Q 02-03, CR pass 02-04, CS 02-10
//	L5   L5   South E2 (Beta)     —            (lead only)        LC 03-15
//
// Leads are created at their case's LC time; L1-L4 converted. Contract K1 (A1) signed 03-11,
// committed 03-25; delivery D1 accepted 03-21. Invoice I1 (K1) issued 03-23, due 04-22, 1000;
// payment P1 600 on 03-31. The engine's clock reads 2025-06-01.
type fxEv struct {
	c, act, at, outcome string
}

var kpiEvents = []fxEv{
	{"A1", "Lead Created", "03-01", ""}, {"A1", "Opportunity Created", "03-02", ""}, {"A1", "Quote Sent", "03-04", ""},
	{"A1", "Contract Review", "03-05", "pass"}, {"A1", "Contract Signed", "03-11", ""}, {"A1", "Delivery Started", "03-12", ""},
	{"A1", "Delivery Accepted", "03-21", ""}, {"A1", "Invoice Issued", "03-23", ""}, {"A1", "Payment Received", "03-31", ""},
	{"A2", "Lead Created", "03-02", ""}, {"A2", "Opportunity Created", "03-03", ""}, {"A2", "Quote Sent", "03-04", ""},
	{"A2", "Contract Signed", "03-06", ""}, {"A2", "Contract Review", "03-07", "pass"},
	{"A3", "Lead Created", "03-05", ""}, {"A3", "Opportunity Created", "03-06", ""}, {"A3", "Coffee chat", "03-07", ""},
	{"A4", "Lead Created", "02-01", ""}, {"A4", "Opportunity Created", "02-02", ""}, {"A4", "Quote Sent", "02-03", ""},
	{"A4", "Contract Review", "02-04", "pass"}, {"A4", "Contract Signed", "02-10", ""},
	{"L5", "Lead Created", "03-15", ""},
}

// day parses "MM-DD" as midnight UTC in 2025.
func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", "2025-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

// kpiCodes is the error-code table cmd/ltc builds (serve.go).
func kpiCodes() *ErrorCodes { return KPIErrorCodes() }

// newKPIHandler loads the fixture into an in-memory warehouse, refreshes the engine in a
// transaction (as the ETL does) and returns the production handler over it.
func newKPIHandler(t testing.TB) http.Handler {
	t.Helper()
	return kpiHandler(newKPIFixture(t))
}

// kpiHandler is the production handler over db and its engine eng.
func kpiHandler(db *schema.DB, eng *kpi.Engine) http.Handler {
	return NewHandler(NewResolver(Deps{DB: db, KPI: eng, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger()})
}

// newKPIFixture loads the fixture into an in-memory warehouse and returns it with its refreshed engine.
func newKPIFixture(t testing.TB) (*schema.DB, *kpi.Engine) {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	model := schema.StandardModel()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO employees (employee_id, team, _file) VALUES ('E1', 'Alpha', 'fx'), ('E2', 'Beta', 'fx')`)
	for _, l := range [][]string{{"L1", "03-01", "North", "E1", "A1"}, {"L2", "03-02", "South", "E2", "A2"},
		{"L3", "03-05", "North", "E1", "A3"}, {"L4", "02-01", "North", "E1", "A4"}, {"L5", "03-15", "South", "E2", ""}} {
		exec(`INSERT INTO leads (lead_id, created_at, channel, owner_id, business_unit, region, segment, opportunity_id, _file)
			VALUES (?, ?, 'Web', ?, ?, 'EU', 'SMB', NULLIF(?, ''), 'fx')`, l[0], day(l[1]), l[3], l[2], l[4])
	}
	for _, o := range []struct {
		id, lead, bu, owner, status, closed string
		amount                              float64
	}{{"A1", "L1", "North", "E1", "won", "03-11", 1000}, {"A2", "L2", "South", "E2", "won", "03-06", 400},
		{"A3", "L3", "North", "E1", "lost", "03-20", 0}, {"A4", "L4", "North", "E1", "won", "02-10", 300}} {
		exec(`INSERT INTO opportunities (opportunity_id, lead_id, owner_id, business_unit, region, segment, product_line,
			status, closed_at, amount, currency, _file) VALUES (?, ?, ?, ?, 'EU', 'SMB', 'Basic', ?, ?, ?, 'EUR', 'fx')`,
			o.id, o.lead, o.owner, o.bu, o.status, day(o.closed), o.amount)
	}
	for i, ev := range kpiEvents {
		var stage, outcome any
		if s := model.StageOf(ev.act); s != "" {
			stage = s
		}
		if ev.outcome != "" {
			outcome = ev.outcome
		}
		exec(`INSERT INTO stage_events (case_id, stage, activity, occurred_at, outcome, source, seq, _file)
			VALUES (?, ?, ?, ?, ?, 'fx', ?, 'fx')`, ev.c, stage, ev.act, day(ev.at), outcome, i+1)
	}
	exec(`INSERT INTO contracts (contract_id, opportunity_id, signed_at, committed_delivery_at, _file) VALUES ('K1', 'A1', ?, ?, 'fx')`, day("03-11"), day("03-25"))
	exec(`INSERT INTO deliveries (delivery_id, contract_id, accepted_at, _file) VALUES ('D1', 'K1', ?, 'fx')`, day("03-21"))
	exec(`INSERT INTO invoices (invoice_id, contract_id, issued_at, due_at, amount, _file) VALUES ('I1', 'K1', ?, ?, 1000, 'fx')`, day("03-23"), day("04-22"))
	exec(`INSERT INTO payments (payment_id, invoice_id, received_at, amount, _file) VALUES ('P1', 'I1', ?, 600, 'fx')`, day("03-31"))

	eng := kpi.New(db, model, kpi.Options{SprintAnchor: day("03-03"), Now: func() time.Time { return day("06-01") }})
	testwarehouse.Refresh(t, db, eng)
	return db, eng
}

const (
	march    = `{from: "2025-03-01T00:00:00Z", to: "2025-04-01T00:00:00Z"`
	kv       = `{ value previous change relChange n previousN }`
	durKV    = `{ p50Days ` + kv + ` p90Days ` + kv + ` meanDays ` + kv + ` }`
	keyField = `key { dimension value }`
)

// kpiQueries are the golden queries: every KPI field, with groups and series where they apply.
// Cursors are opaque (the engine may change their encoding), so goldens leave them out;
// TestKPIPagination follows them.
var kpiQueries = []struct{ name, query string }{
	{"kpi_funnel", `{ funnel(scope: ` + march + `}) { total { stages { stage reached ` + kv + ` fromPrevious ` + kv + ` fromTop ` + kv + ` } } groups { key { dimension } } series { start } } }`},
	{"kpi_funnel_window_by_bu", `{ funnel(scope: ` + march + `, groupBy: [BUSINESS_UNIT]}, windowDays: 5) { total { stages { stage reached { value n } } } groups { ` + keyField + ` result { stages { stage reached { value n } fromTop { value } } } } } }`},
	{"kpi_lead_conversion", `{ leadConversion(scope: ` + march + `, grain: MONTH}) { total ` + kv + ` series { start result ` + kv + ` } } }`},
	{"kpi_win_rate_by_team", `{ winRate(scope: ` + march + `, groupBy: [TEAM]}) { total ` + kv + ` groups { ` + keyField + ` result ` + kv + ` } } }`},
	{"kpi_won_value_by_team", `{ wonValue(scope: ` + march + `, groupBy: [TEAM]}) { total ` + kv + ` groups { ` + keyField + ` result ` + kv + ` } } }`},
	{"kpi_won_value_filtered", `{ wonValue(scope: ` + march + `, filters: [{dimension: BUSINESS_UNIT, values: ["South"]}]}) { total ` + kv + ` } }`},
	{"kpi_cycle_times", `{ cycleTimes(scope: ` + march + `}) { total { sales ` + durKV + ` delivery ` + durKV + ` cash ` + durKV + ` leadToCash ` + durKV + ` } } }`},
	{"kpi_cycle_times_sprint", `{ cycleTimes(scope: ` + march + `, grain: SPRINT}) { series { start result { sales { meanDays { value previous n previousN } } } } } }`},
	{"kpi_value_stream", `{ valueStream(scope: ` + march + `}, cycle: LEAD_TO_CASH) { total { bottleneck cases ` + kv + ` stages { stage share ` + kv + ` medianDays ` + kv + ` p90Days { value n } rework { value n } cases { value n } } } } }`},
	{"kpi_value_stream_sales", `{ valueStream(scope: ` + march + `}) { total { bottleneck cases ` + kv + ` stages { stage share ` + kv + ` medianDays { value n } cases { value n } } } } }`},
	{"kpi_value_stream_delivery", `{ valueStream(scope: ` + march + `}, cycle: DELIVERY) { total { bottleneck cases { value n } stages { stage share { value n } } } } }`},
	{"kpi_variants", `{ variants(scope: ` + march + `}, top: 3) { distinct cases top { stages cases medianDays } } }`},
	{"kpi_adoption", `{ adoption(scope: ` + march + `, groupBy: [BUSINESS_UNIT]}) { total { rate ` + kv + ` coverage ` + kv + ` template ` + kv + ` ironTriangle ` + kv + ` } groups { ` + keyField + ` result { rate { value n } coverage { value n } } } } }`},
	{"kpi_compliance", `{ compliance(scope: ` + march + `}) { total { rate ` + kv + ` promiseKept ` + kv + ` gates { gate guards entered ` + kv + ` compliant { value n } rate { value n } missing { value } failed { value } late { value } } } } }`},
	{"kpi_violations", `{ violations(scope: ` + march + `}) { nodes { caseId gate kind enteredAt owner businessUnit } pageInfo { hasNextPage } } }`},
	{"kpi_cash", `{ cash(scope: ` + march + `}) { total { billed ` + kv + ` collected ` + kv + ` receivables ` + kv + ` overdueShare ` + kv + ` dsoDays ` + kv + ` collectionRate ` + kv + ` } } }`},
	{"kpi_cases_page1", `{ cases(scope: ` + march + `}, first: 2) { nodes { id businessUnit region segment productLine channel owner team branch startedAt lastAt events furthestStage adopted status closedAt } pageInfo { hasNextPage } } }`},
	{"kpi_cases_gate_violated", `{ cases(scope: ` + march + `}, filter: {gateViolated: "contract_review"}) { nodes { id furthestStage } pageInfo { hasNextPage } } }`},
	{"kpi_cases_reached_cash", `{ cases(scope: ` + march + `}, filter: {stageReached: "cash_collected", adopted: false}) { nodes { id adopted } } }`},
	{"kpi_case_timeline", `{ caseTimeline(caseId: "A3") { stage activity occurredAt actorId actorRole outcome templateUsed source seq } }`},
	{"kpi_case_timeline_unknown", `{ caseTimeline(caseId: "nope") { activity } }`},
	{"kpi_empty_scope", `{ winRate(scope: {from: "2030-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z"}) { total ` + kv + ` } cycleTimes(scope: {from: "2030-01-01T00:00:00Z", to: "2030-02-01T00:00:00Z"}) { total { sales { meanDays ` + kv + ` } } } }`},
}

func TestKPIGolden(t *testing.T) {
	c := client.New(newKPIHandler(t))
	for _, tc := range kpiQueries {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, post(t, c, tc.query))
		})
	}
}

// TestKPIHeadlines asserts the headline numbers of the fixture, worked out by hand.
func TestKPIHeadlines(t *testing.T) {
	c := client.New(newKPIHandler(t))
	type val struct {
		Value, Previous   float64
		Change, RelChange *float64
		N, PreviousN      int
	}
	check := func(name string, got val, value, previous float64, n, pn int) {
		t.Helper()
		if math.Abs(got.Value-value) > 1e-9 || math.Abs(got.Previous-previous) > 1e-9 || got.N != n || got.PreviousN != pn {
			t.Errorf("%s = %+v, want value %v previous %v n %d/%d", name, got, value, previous, n, pn)
		}
	}
	var resp struct {
		LeadConversion struct{ Total val }
		WinRate        struct{ Total val }
		WonValue       struct {
			Total  val
			Groups []struct {
				Key    []struct{ Dimension, Value string }
				Result val
			}
		}
		CycleTimes struct {
			Total struct {
				Sales, Delivery, Cash, LeadToCash struct{ P50Days, P90Days, MeanDays val }
			}
		}
		Funnel struct {
			Total struct {
				Stages []struct {
					Stage   string
					Reached val
				}
			}
		}
		ValueStream struct {
			Total struct {
				Bottleneck string
				Stages     []struct {
					Stage string
					Share val
				}
			}
		}
		SalesStream struct {
			Total struct {
				Bottleneck string
				Stages     []struct {
					Stage string
					Share val
				}
			}
		}
		Compliance struct {
			Total struct {
				Rate, PromiseKept val
			}
		}
		Cash struct {
			Total struct{ Billed, Collected, Receivables, DsoDays, CollectionRate val }
		}
		Violations struct {
			Nodes []struct{ CaseID, Gate, Kind string }
		}
	}
	c.MustPost(`{
		leadConversion(scope: `+march+`}) { total `+kv+` }
		winRate(scope: `+march+`}) { total `+kv+` }
		wonValue(scope: `+march+`, groupBy: [TEAM]}) { total `+kv+` groups { key { dimension value } result `+kv+` } }
		cycleTimes(scope: `+march+`}) { total { sales `+durKV+` delivery `+durKV+` cash `+durKV+` leadToCash `+durKV+` } }
		funnel(scope: `+march+`}) { total { stages { stage reached `+kv+` } } }
		valueStream(scope: `+march+`}, cycle: LEAD_TO_CASH) { total { bottleneck stages { stage share `+kv+` } } }
		salesStream: valueStream(scope: `+march+`}) { total { bottleneck stages { stage share `+kv+` } } }
		compliance(scope: `+march+`}) { total { rate `+kv+` promiseKept `+kv+` } }
		cash(scope: `+march+`}) { total { billed `+kv+` collected `+kv+` receivables `+kv+` dsoDays `+kv+` collectionRate `+kv+` } }
		violations(scope: `+march+`}) { nodes { caseId gate kind } }
	}`, &resp)

	// Leads created in March: L1 L2 L3 L5 = 4, converted L1 L2 L3 = 3 → 0.75; previous L4 1/1.
	check("leadConversion", resp.LeadConversion.Total, 0.75, 1, 4, 1)
	// Closed in March: A1 won, A2 won, A3 lost → 2/3; previous A4 won → 1/1.
	check("winRate", resp.WinRate.Total, 2.0/3, 1, 3, 1)
	// Won in March: A1 1000 + A2 400 = 1400 over 2 deals; previous A4 300. Alpha (E1): A1 1000
	// (A3 is lost), previous A4 300; Beta (E2): A2 400, previous nothing.
	check("wonValue", resp.WonValue.Total, 1400, 300, 2, 1)
	if g := resp.WonValue.Groups; len(g) != 2 || g[0].Key[0].Value != "Alpha" || g[0].Key[0].Dimension != "TEAM" || g[1].Key[0].Value != "Beta" {
		t.Fatalf("wonValue groups = %+v", g)
	}
	check("wonValue Alpha", resp.WonValue.Groups[0].Result, 1000, 300, 1, 1)
	check("wonValue Beta", resp.WonValue.Groups[1].Result, 400, 0, 1, 0)
	// Sales cycle (CS − case start, by CS): A1 03-11 − 03-01 = 10 d, A2 03-06 − 03-02 = 4 d:
	// mean 7, p50 7, p90 4 + 0.9 × 6 = 9.4; previous A4 02-10 − 02-01 = 9 d.
	ct := resp.CycleTimes.Total
	check("sales mean", ct.Sales.MeanDays, 7, 9, 2, 1)
	check("sales p50", ct.Sales.P50Days, 7, 9, 2, 1)
	check("sales p90", ct.Sales.P90Days, 9.4, 9, 2, 1)
	// Delivery DA − CS = 03-21 − 03-11 = 10; cash CC − INV = 03-31 − 03-23 = 8; lead-to-cash 03-31 − 03-01 = 30.
	check("delivery mean", ct.Delivery.MeanDays, 10, 0, 1, 0)
	check("cash mean", ct.Cash.MeanDays, 8, 0, 1, 0)
	check("leadToCash mean", ct.LeadToCash.MeanDays, 30, 0, 1, 0)
	// Funnel cohort (started in March): A1 A2 A3 L5 = 4 (previous A4). Reached: lead_created 4,
	// quote 2 (A1 A2), contract_signed 2, cash_collected 1 (A1).
	reached := map[string]float64{}
	for _, s := range resp.Funnel.Total.Stages {
		reached[s.Stage] = s.Reached.Value
		if s.Reached.N != 4 || s.Reached.PreviousN != 1 {
			t.Errorf("funnel %s n = %d/%d, want 4/1", s.Stage, s.Reached.N, s.Reached.PreviousN)
		}
	}
	for st, want := range map[string]float64{"lead_created": 4, "lead_qualified": 0, "quote": 2, "contract_signed": 2, "cash_collected": 1} {
		if reached[st] != want {
			t.Errorf("funnel %s reached = %v, want %v", st, reached[st], want)
		}
	}
	// Value stream: only A1 completed (CC 03-31), 30 days first → last. Dwells: LC 1, OC 2, Q 1,
	// CR 6, CS 1, DS 9, DA 2, INV 8, CC 0 → delivery_started 9/30 = 0.3 is the bottleneck.
	if resp.ValueStream.Total.Bottleneck != "delivery_started" {
		t.Errorf("bottleneck = %q, want delivery_started", resp.ValueStream.Total.Bottleneck)
	}
	for _, s := range resp.ValueStream.Total.Stages {
		want := map[string]float64{"lead_created": 1, "opportunity_created": 2, "quote": 1, "contract_review": 6,
			"contract_signed": 1, "delivery_started": 9, "delivery_accepted": 2, "invoiced": 8}[s.Stage] / 30
		if math.Abs(s.Share.Value-want) > 1e-9 || s.Share.N != 1 {
			t.Errorf("share %s = %+v, want %v over 1 case", s.Stage, s.Share, want)
		}
	}
	// Sales value stream (the default cycle): the cases signed in March, A1 (03-01 → CS 03-11, 10 days)
	// and A2 (03-02 → CS 03-06, 4 days), 14 days in all; dwells inside the spans: A1 LC 1, OC 2, Q 1,
	// CR 6; A2 LC 1, OC 1, Q 2 (A2's review came after the signature). So lead_created 2/14,
	// opportunity_created 3/14, quote 3/14, contract_review 6/14: the bottleneck. Previous period: A4
	// (02-01 → CS 02-10, 9 days): LC 1, OC 1, Q 1, CR 6.
	if resp.SalesStream.Total.Bottleneck != "contract_review" {
		t.Errorf("sales bottleneck = %q, want contract_review", resp.SalesStream.Total.Bottleneck)
	}
	for _, s := range resp.SalesStream.Total.Stages {
		want := map[string]float64{"lead_created": 2, "opportunity_created": 3, "quote": 3, "contract_review": 6}[s.Stage] / 14
		prev := map[string]float64{"lead_created": 1, "opportunity_created": 1, "quote": 1, "contract_review": 6}[s.Stage] / 9
		if math.Abs(s.Share.Value-want) > 1e-9 || math.Abs(s.Share.Previous-prev) > 1e-9 || s.Share.N != 2 || s.Share.PreviousN != 1 {
			t.Errorf("sales share %s = %+v, want %v (previous %v) over 2 cases", s.Stage, s.Share, want, prev)
		}
	}
	// Compliance: contract_review guards contract_signed. A1 passed 03-05 before CS 03-11 (compliant);
	// A2 signed 03-06 and passed 03-07 (late) → 1/2; previous A4 compliant 1/1. Promise: D1 accepted
	// 03-21 ≤ committed 03-25 → 1/1.
	check("compliance", resp.Compliance.Total.Rate, 0.5, 1, 2, 1)
	check("promiseKept", resp.Compliance.Total.PromiseKept, 1, 0, 1, 0)
	if v := resp.Violations.Nodes; len(v) != 1 || v[0].CaseID != "A2" || v[0].Gate != "contract_review" || v[0].Kind != "LATE" {
		t.Errorf("violations = %+v, want A2 contract_review LATE", v)
	}
	// Cash: I1 1000 billed 03-23, P1 600 received 03-31; AR at 04-01 = 400 (1 unpaid invoice), not
	// overdue (due 04-22); DSO = 400 / 1000 × 31 = 12.4 days; collection rate 600/1000.
	cs := resp.Cash.Total
	check("billed", cs.Billed, 1000, 0, 1, 0)
	check("collected", cs.Collected, 600, 0, 1, 0)
	check("receivables", cs.Receivables, 400, 0, 1, 0)
	check("dso", cs.DsoDays, 12.4, 0, 1, 0)
	check("collectionRate", cs.CollectionRate, 0.6, 0, 1, 0)
}

// TestKPIPagination walks the cases with first: 1 and the cursors the API returns.
func TestKPIPagination(t *testing.T) {
	c := client.New(newKPIHandler(t))
	var resp struct {
		Cases struct {
			Nodes    []struct{ ID string }
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
	var ids []string
	after := ""
	for i := 0; i < 10; i++ {
		c.MustPost(`query($after: String) { cases(scope: `+march+`}, first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`,
			&resp, client.Var("after", after))
		for _, n := range resp.Cases.Nodes {
			ids = append(ids, n.ID)
		}
		if !resp.Cases.PageInfo.HasNextPage {
			break
		}
		after = *resp.Cases.PageInfo.EndCursor
	}
	// Started in March, by start: A1 03-01, A2 03-02, A3 03-05, L5 03-15.
	if got := jsonString(ids); got != `["A1","A2","A3","L5"]` {
		t.Errorf("cases %s", got)
	}
}

// httpCodes posts query straight to h (gqlgen's client rejects non-200 answers such as the 422 of a
// validation error) and returns the HTTP status and the extensions.code of every error.
func httpCodes(t *testing.T, h http.Handler, query string) (int, []string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp struct{ Errors gqlerror.List }
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("%s: %v: %s", query, err, rec.Body.String())
	}
	var codes []string
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return rec.Code, codes
}

func TestKPIErrorCodes(t *testing.T) {
	h := newKPIHandler(t)
	for _, tc := range []struct{ name, query, want string }{
		{"from after to", `{ winRate(scope: {from: "2025-04-01T00:00:00Z", to: "2025-03-01T00:00:00Z"}) { total { value } } }`, "BAD_SCOPE"},
		{"from equals to", `{ funnel(scope: {from: "2025-04-01T00:00:00Z", to: "2025-04-01T00:00:00Z"}) { total { stages { stage } } } }`, "BAD_SCOPE"},
		{"unknown dimension", `{ winRate(scope: ` + march + `, groupBy: [COLOR]}) { total { value } } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown grain", `{ winRate(scope: ` + march + `, grain: FORTNIGHT}) { total { value } } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"dimension twice", `{ winRate(scope: ` + march + `, groupBy: [TEAM, TEAM]}) { total { value } } }`, "BAD_SCOPE"},
		{"too many buckets", `{ winRate(scope: {from: "1900-01-01T00:00:00Z", to: "2025-01-01T00:00:00Z", grain: DAY}) { total { value } } }`, "BAD_SCOPE"},
		{"window 0", `{ funnel(scope: ` + march + `}, windowDays: 0) { total { stages { stage } } } }`, "BAD_SCOPE"},
		{"window negative", `{ funnel(scope: ` + march + `}, windowDays: -3) { total { stages { stage } } } }`, "BAD_SCOPE"},
		{"cases first 0", `{ cases(scope: ` + march + `}, first: 0) { nodes { id } } }`, "BAD_ARGUMENT"},
		{"cases first huge", `{ cases(scope: ` + march + `}, first: 100000) { nodes { id } } }`, "BAD_ARGUMENT"},
		{"violations first 0", `{ violations(scope: ` + march + `}, first: 0) { nodes { caseId } } }`, "BAD_ARGUMENT"},
		{"violations first huge", `{ violations(scope: ` + march + `}, first: 100000) { nodes { caseId } } }`, "BAD_ARGUMENT"},
		{"variants top 0", `{ variants(scope: ` + march + `}, top: 0) { distinct } }`, "BAD_ARGUMENT"},
		{"cases garbage cursor", `{ cases(scope: ` + march + `}, after: "garbage!") { nodes { id } } }`, "BAD_ARGUMENT"},
		{"violations garbage cursor", `{ violations(scope: ` + march + `}, after: "bm90IGpzb24") { nodes { caseId } } }`, "BAD_ARGUMENT"},
		// A cursor issued for orderBy: KIND, direction: ASC ({"o":"KIND:asc",…}) cannot continue the default order.
		{"violations cursor of another order", `{ violations(scope: ` + march + `}, after: "eyJ0IjoiMjAyNS0wMy0xN1QwMDowMDowMFoiLCJjIjoiTzUiLCJnIjo5LCJvIjoiS0lORDphc2MiLCJrIjoiZmFpbGVkIn0") { nodes { caseId } } }`, "BAD_ARGUMENT"},
		{"violations unknown order", `{ violations(scope: ` + march + `}, orderBy: COLOR) { nodes { caseId } } }`, "GRAPHQL_VALIDATION_FAILED"},
		{"unknown gate", `{ cases(scope: ` + march + `}, filter: {gateViolated: "no_such_gate"}) { nodes { id } } }`, "UNKNOWN_STAGE"},
		{"stage that is not a gate", `{ cases(scope: ` + march + `}, filter: {gateViolated: "quote"}) { nodes { id } } }`, "UNKNOWN_STAGE"},
		{"unknown stage", `{ cases(scope: ` + march + `}, filter: {stageReached: "no_such_stage"}) { nodes { id } } }`, "UNKNOWN_STAGE"},
		{"bad time", `{ winRate(scope: {from: "yesterday", to: "2025-03-01T00:00:00Z"}) { total { value } } }`, "BAD_ARGUMENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, codes := httpCodes(t, h, tc.query)
			if len(codes) != 1 || codes[0] != tc.want {
				t.Errorf("codes = %v, want [%s]", codes, tc.want)
			}
			if status >= 500 {
				t.Errorf("HTTP %d", status)
			}
		})
	}
}

// TestViolationsOrderArguments: orderBy and direction reach the engine: a cursor issued for
// KIND ascending continues that order and no other.
func TestViolationsOrderArguments(t *testing.T) {
	h := newKPIHandler(t)
	const cur = "eyJ0IjoiMjAyNS0wMy0xN1QwMDowMDowMFoiLCJjIjoiTzUiLCJnIjo5LCJvIjoiS0lORDphc2MiLCJrIjoiZmFpbGVkIn0"
	for _, tc := range []struct {
		args string
		ok   bool
	}{{"orderBy: KIND, direction: ASC", true}, {"orderBy: KIND", false}, {"direction: ASC", false}, {"orderBy: GATE, direction: ASC", false}} {
		_, codes := httpCodes(t, h, `{ violations(scope: `+march+`}, `+tc.args+`, after: "`+cur+`") { nodes { caseId kind } } }`)
		if tc.ok != (len(codes) == 0) {
			t.Errorf("%s with a KIND ASC cursor: codes %v", tc.args, codes)
		}
	}
}

// TestKPIWithoutEngine: a resolver built without an engine answers INTERNAL, not a panic.
func TestKPIWithoutEngine(t *testing.T) {
	c := client.New(newTestHandler(t, HandlerOptions{}))
	codes := errorCodes(t, c, `{ winRate(scope: `+march+`}) { total { value } } }`)
	if len(codes) != 1 || codes[0] != "INTERNAL" {
		t.Errorf("codes = %v, want [INTERNAL]", codes)
	}
}
