package kpi

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// The fixture: a dozen hand-made cases on the ltc-standard model. Every expected number in the
// tests is worked out by hand from this listing, in the tests' comments.
//
// Stage positions: 0 LC lead_created, 1 LQ lead_qualified, 2 OC opportunity_created,
// 3 NA needs_analysis (template), 4 SD solution_design (complex, template), 5 SR solution_review
// (gate → quote, complex), 6 Q quote (template), 7 CR contract_review (gate → contract_signed),
// 8 CS contract_signed, 9 DS delivery_started, 10 DA delivery_accepted, 11 INV invoiced,
// 12 CC cash_collected. Times are UTC, 2025 (the current period of most tests is March,
// [03-01, 04-01), 31 days; its previous period is [01-29, 03-01)).
//
//	case BU    product (branch)        events (day 00:00 unless a time is given; [x]=template_used)
//	O1   North Basic (standard)         LC 03-01, LQ 03-02, OC 03-03, NA 03-05[t], "Coffee chat" 03-06
//	                                    (personal), Q 03-08[f], CR pass 03-09, CS 03-10, DS 03-11,
//	                                    DA 03-20, INV 03-21, CC 03-31. won, closed 03-10
//	O2   North Enterprise (complex)     LC 03-02, LQ 03-03, OC 03-04, NA 03-05[t], SD 03-06[t],
//	                                    NA 03-08[f], SD 03-09[-], SR fail 03-10, SR pass 03-11,
//	                                    Q 03-12[t], CS 03-14, CR pass 03-15, DS 03-16, DA 03-25,
//	                                    INV 03-26, CC 03-30. won, closed 03-14
//	O3   South Enterprise (complex)     LC 03-03, LQ 03-04, OC 03-05, NA 03-06[-], SD 03-07[-], Q 03-09[-],
//	                                    CR pass 03-12 10:00 seq 7, CS 03-12 10:00 seq 8, DS 03-13.
//	                                    won, closed 03-12
//	O4   South Basic (standard)         LC 03-05, OC 03-06, Q 03-08[t], CS 03-15 09:00 seq 5,
//	                                    CR pass 03-15 09:00 seq 6. won, closed 03-15
//	O5   North Basic, branch set        LC 03-10, LQ 03-11, OC 03-12, NA 03-13[t], Q 03-14[t],
//	     to complex on the opportunity  CR fail 03-16, CS 03-17. won, closed 03-17
//	L6   North lead (standard)          "Intro call" 03-14 (personal), LC 03-15, LQ 03-16
//	L7   South lead                     LC 03-20
//	O8   South Basic (standard)         LC 03-08, LQ 03-09, OC 03-10, NA 03-12[f]. lost, closed 03-25
//	O9   North Basic (standard)         LC 02-01, LQ 02-02, OC 02-03, NA 02-04[t], Q 02-06[t],
//	                                    CR pass 02-07, CS 02-08, DS 02-09, DA 02-15, INV 02-16,
//	                                    CC 02-26. won, closed 02-08
//	L10  North lead                     LC 02-10
//	O11  North Basic, open              LC 03-31 23:59:59
//	L12  North lead                     LC 04-01 00:00:00
//
// Leads L1..L12 are created at their case's LC time; L1-L5, L8, L9, L11 converted to O1-O5, O8,
// O9, O11. Owners: E1 (team Alpha) O1, O4, O5, L6, L7, L10, L12, O8, O9, O11; E2 (Beta) O2;
// E3 (Alpha) O3. Assignments: O1 sales+solution+delivery, O2 sales+solution, O3 sales (twice)+
// solution+delivery, O4 sales, O9 all three. Contracts/deliveries: K1 (O1) committed 03-22,
// accepted 03-20; K2 (O2) committed 03-20, accepted 03-25; K9 (O9) committed 02-20, accepted 02-15.
// Invoices: I1 (K1) 03-21 due 04-20 1000, paid 600 on 03-31; I2 (K2) 03-26 due 03-28 500, paid
// 500 on 03-30; I3 (K3, O3) 03-13 due 03-20 200, unpaid; I9 (K9) 02-16 due 02-20 800, paid 300
// on 02-26 and 500 on 03-05.

type fxEvent struct {
	act     string
	at      string
	seq     int64
	outcome string
	tmpl    *bool
}

var (
	yes = func() *bool { b := true; return &b }()
	no  = func() *bool { b := false; return &b }()
)

func e(act, at string) fxEvent             { return fxEvent{act: act, at: at} }
func et(act, at string, t *bool) fxEvent   { return fxEvent{act: act, at: at, tmpl: t} }
func eg(act, at, outcome string) fxEvent   { return fxEvent{act: act, at: at, outcome: outcome} }
func es(act, at string, seq int64) fxEvent { return fxEvent{act: act, at: at, seq: seq} }
func egs(act, at, o string, seq int64) fxEvent {
	return fxEvent{act: act, at: at, outcome: o, seq: seq}
}

var fxEvents = map[string][]fxEvent{
	"O1": {e("Lead Created", "03-01"), e("Lead Qualified", "03-02"), e("Opportunity Created", "03-03"),
		et("Needs Analysis", "03-05", yes), e("Coffee chat", "03-06"), et("Quote Sent", "03-08", no),
		eg("Contract Review", "03-09", "pass"), e("Contract Signed", "03-10"), e("Delivery Started", "03-11"),
		e("Delivery Accepted", "03-20"), e("Invoice Issued", "03-21"), e("Payment Received", "03-31")},
	"O2": {e("Lead Created", "03-02"), e("Lead Qualified", "03-03"), e("Opportunity Created", "03-04"),
		et("Needs Analysis", "03-05", yes), et("Solution Design", "03-06", yes), et("Needs Analysis", "03-08", no),
		e("Solution Design", "03-09"), eg("Solution Review", "03-10", "fail"), eg("Solution Review", "03-11", "pass"),
		et("Quote Sent", "03-12", yes), e("Contract Signed", "03-14"), eg("Contract Review", "03-15", "pass"),
		e("Delivery Started", "03-16"), e("Delivery Accepted", "03-25"), e("Invoice Issued", "03-26"),
		e("Payment Received", "03-30")},
	"O3": {e("Lead Created", "03-03"), e("Lead Qualified", "03-04"), e("Opportunity Created", "03-05"),
		e("Needs Analysis", "03-06"), e("Solution Design", "03-07"), e("Quote Sent", "03-09"),
		egs("Contract Review", "03-12 10:00:00", "pass", 7), es("Contract Signed", "03-12 10:00:00", 8),
		e("Delivery Started", "03-13")},
	"O4": {e("Lead Created", "03-05"), e("Opportunity Created", "03-06"), et("Quote Sent", "03-08", yes),
		es("Contract Signed", "03-15 09:00:00", 5), egs("Contract Review", "03-15 09:00:00", "pass", 6)},
	"O5": {e("Lead Created", "03-10"), e("Lead Qualified", "03-11"), e("Opportunity Created", "03-12"),
		et("Needs Analysis", "03-13", yes), et("Quote Sent", "03-14", yes), eg("Contract Review", "03-16", "fail"),
		e("Contract Signed", "03-17")},
	"L6": {e("Intro call", "03-14"), e("Lead Created", "03-15"), e("Lead Qualified", "03-16")},
	"L7": {e("Lead Created", "03-20")},
	"O8": {e("Lead Created", "03-08"), e("Lead Qualified", "03-09"), e("Opportunity Created", "03-10"), et("Needs Analysis", "03-12", no)},
	"O9": {e("Lead Created", "02-01"), e("Lead Qualified", "02-02"), e("Opportunity Created", "02-03"),
		et("Needs Analysis", "02-04", yes), et("Quote Sent", "02-06", yes), eg("Contract Review", "02-07", "pass"),
		e("Contract Signed", "02-08"), e("Delivery Started", "02-09"), e("Delivery Accepted", "02-15"),
		e("Invoice Issued", "02-16"), e("Payment Received", "02-26")},
	"L10": {e("Lead Created", "02-10")},
	"O11": {e("Lead Created", "03-31 23:59:59")},
	"L12": {e("Lead Created", "04-01 00:00:00")},
}

// at parses a fixture time ("MM-DD" or "MM-DD hh:mm:ss", 2025, UTC).
func at(s string) time.Time {
	layout := "2006-01-02 15:04:05"
	if len(s) == 5 {
		s += " 00:00:00"
	}
	t, err := time.Parse(layout, "2025-"+s)
	if err != nil {
		panic(err)
	}
	return t
}

// newFixture opens an in-memory warehouse, loads the fixture, refreshes and returns an engine.
func newFixture(t testing.TB) (*Engine, *schema.DB) {
	t.Helper()
	return newFixtureModel(t, schema.StandardModel())
}

// newFixtureModel is newFixture measured against model, whose activities must be the standard
// model's (events take the stage model maps their activity to).
func newFixtureModel(t testing.TB, model *schema.Model) (*Engine, *schema.DB) {
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
	for _, emp := range [][]string{{"E1", "Alpha", "Ann One"}, {"E2", "Beta", "Ben Two"}, {"E3", "Alpha", "Cleo Three"}} {
		exec("INSERT INTO employees (employee_id, team, name, _file) VALUES (?, ?, ?, 'fixture')", emp[0], emp[1], emp[2])
	}
	type lead struct{ id, created, bu, region, channel, owner, opp string }
	for _, l := range []lead{
		{"L1", "03-01", "North", "EU", "Web", "E1", "O1"}, {"L2", "03-02", "North", "EU", "Event", "E2", "O2"},
		{"L3", "03-03", "South", "US", "Web", "E3", "O3"}, {"L4", "03-05", "South", "US", "Web", "E1", "O4"},
		{"L5", "03-10", "North", "EU", "Event", "E1", "O5"}, {"L6", "03-15", "North", "EU", "Web", "E1", ""},
		{"L7", "03-20", "South", "US", "Web", "E1", ""}, {"L8", "03-08", "South", "US", "Event", "E1", "O8"},
		{"L9", "02-01", "North", "EU", "Web", "E1", "O9"}, {"L10", "02-10", "North", "EU", "Web", "E1", ""},
		{"L11", "03-31 23:59:59", "North", "EU", "Web", "E1", "O11"}, {"L12", "04-01 00:00:00", "North", "EU", "Web", "E1", ""},
	} {
		exec(`INSERT INTO leads (lead_id, created_at, channel, owner_id, business_unit, region, segment, opportunity_id, _file)
			VALUES (?, ?, ?, ?, ?, ?, 'SMB', NULLIF(?, ''), 'fixture')`, l.id, at(l.created), l.channel, l.owner, l.bu, l.region, l.opp)
	}
	type opp struct{ id, lead, bu, region, product, branch, status, closed, owner string }
	for _, o := range []opp{
		{"O1", "L1", "North", "EU", "Basic", "", "won", "03-10", "E1"},
		{"O2", "L2", "North", "EU", "Enterprise Platform", "", "won", "03-14", "E2"},
		{"O3", "L3", "South", "US", "Enterprise Platform", "", "won", "03-12", "E3"},
		{"O4", "L4", "South", "US", "Basic", "", "won", "03-15", "E1"},
		{"O5", "L5", "North", "EU", "Basic", "complex", "won", "03-17", "E1"},
		{"O8", "L8", "South", "US", "Basic", "", "lost", "03-25", "E1"},
		{"O9", "L9", "North", "EU", "Basic", "", "won", "02-08", "E1"},
		{"O11", "L11", "North", "EU", "Basic", "", "open", "", "E1"},
	} {
		var closed any
		if o.closed != "" {
			closed = at(o.closed)
		}
		exec(`INSERT INTO opportunities (opportunity_id, lead_id, owner_id, business_unit, region, segment, product_line,
			branch, status, closed_at, _file) VALUES (?, ?, ?, ?, ?, 'SMB', ?, NULLIF(?, ''), ?, ?, 'fixture')`,
			o.id, o.lead, o.owner, o.bu, o.region, o.product, o.branch, o.status, closed)
	}
	var seq int64
	for c, evs := range fxEvents {
		for _, ev := range evs {
			seq++
			s := ev.seq
			if s == 0 {
				s = 1000 + seq
			}
			var stage, outcome, tmpl any
			if st := model.StageOf(ev.act); st != "" {
				stage = st
			}
			if ev.outcome != "" {
				outcome = ev.outcome
			}
			if ev.tmpl != nil {
				tmpl = *ev.tmpl
			}
			exec(`INSERT INTO stage_events (case_id, stage, activity, occurred_at, outcome, template_used, source, seq, _file)
				VALUES (?, ?, ?, ?, ?, ?, 'fixture', ?, 'fixture')`, c, stage, ev.act, at(ev.at), outcome, tmpl, s)
		}
	}
	for _, a := range [][]string{{"O1", "E1", "sales"}, {"O1", "E2", "solution"}, {"O1", "E3", "delivery"},
		{"O2", "E2", "sales"}, {"O2", "E3", "solution"},
		{"O3", "E3", "sales"}, {"O3", "E1", "sales"}, {"O3", "E2", "solution"}, {"O3", "E1", "delivery"},
		{"O4", "E1", "sales"}, {"O9", "E1", "sales"}, {"O9", "E2", "solution"}, {"O9", "E3", "delivery"}} {
		exec("INSERT INTO assignments (opportunity_id, employee_id, role, _file) VALUES (?, ?, ?, 'fixture')", a[0], a[1], a[2])
	}
	for _, k := range [][]string{{"K1", "O1", "03-10", "03-22"}, {"K2", "O2", "03-14", "03-20"}, {"K3", "O3", "03-12", "04-30"}, {"K9", "O9", "02-08", "02-20"}} {
		exec("INSERT INTO contracts (contract_id, opportunity_id, signed_at, committed_delivery_at, _file) VALUES (?, ?, ?, ?, 'fixture')",
			k[0], k[1], at(k[2]), at(k[3]))
	}
	for _, d := range [][]string{{"D1", "K1", "03-20"}, {"D2", "K2", "03-25"}, {"D9", "K9", "02-15"}} {
		exec("INSERT INTO deliveries (delivery_id, contract_id, accepted_at, _file) VALUES (?, ?, ?, 'fixture')", d[0], d[1], at(d[2]))
	}
	for _, i := range []struct {
		id, k, issued, due string
		amount             float64
	}{{"I1", "K1", "03-21", "04-20", 1000}, {"I2", "K2", "03-26", "03-28", 500}, {"I3", "K3", "03-13", "03-20", 200}, {"I9", "K9", "02-16", "02-20", 800}} {
		exec("INSERT INTO invoices (invoice_id, contract_id, issued_at, due_at, amount, _file) VALUES (?, ?, ?, ?, ?, 'fixture')",
			i.id, i.k, at(i.issued), at(i.due), i.amount)
	}
	for _, p := range []struct {
		id, inv, at string
		amount      float64
	}{{"P1", "I1", "03-31", 600}, {"P2", "I2", "03-30", 500}, {"P9a", "I9", "02-26", 300}, {"P9b", "I9", "03-05", 500}} {
		exec("INSERT INTO payments (payment_id, invoice_id, received_at, amount, _file) VALUES (?, ?, ?, ?, 'fixture')",
			p.id, p.inv, at(p.at), p.amount)
	}
	eng := New(db, model, Options{SprintAnchor: at("03-03"), Now: func() time.Time { return at("06-01") }})
	refresh(t, eng, db)
	return eng, db
}

// refresh runs Refresh in a writer transaction and bumps the data version, as the ETL does.
func refresh(t testing.TB, eng *Engine, db *schema.DB) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := eng.Refresh(ctx, tx); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := tx.QueryRowContext(ctx, "UPDATE data_version SET version = version + 1, updated_at = now() RETURNING version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.SetVersion(v)
}

// march is the scope most tests use: [2025-03-01, 2025-04-01).
func march() Scope { return Scope{From: at("03-01"), To: at("04-01 00:00:00")} }

const eps = 1e-9

// checkValue compares a Value with hand-computed numbers; change is nil when undefined.
func checkValue(t *testing.T, name string, got Value, value, previous float64, n, pn int64, change *float64) {
	t.Helper()
	if math.Abs(got.Value-value) > 1e-6 || math.Abs(got.Previous-previous) > 1e-6 || got.N != n || got.PreviousN != pn {
		t.Errorf("%s = {%v prev %v n %d/%d}, want {%v prev %v n %d/%d}", name, got.Value, got.Previous, got.N, got.PreviousN, value, previous, n, pn)
	}
	switch {
	case change == nil && got.Change != nil:
		t.Errorf("%s: change = %v, want nil", name, *got.Change)
	case change != nil && got.Change == nil:
		t.Errorf("%s: change = nil, want %v", name, *change)
	case change != nil && math.Abs(*got.Change-*change) > 1e-6:
		t.Errorf("%s: change = %v, want %v", name, *got.Change, *change)
	}
}

func f(v float64) *float64 { return &v }
