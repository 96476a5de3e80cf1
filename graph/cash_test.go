package graph

import (
	"math"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

// TestCashGroupSeriesAPI: cash groups carry their own series when grain is set. To the KPI fixture
// (North: I1 issued 03-23, due 04-22, 1000; P1 600 on 03-31) add a South invoice I2 on A2's
// contract K2, issued 04-10, due 04-20, 300, with P2 100 on 04-15. Scope [03-01, 05-01) by month
// and business unit; receivables are measured at each bucket's end:
//
//	North Mar: billed 1000 (n 1), collected 600 (n 1), receivables 1000 − 600 = 400 (n 1)
//	North Apr: billed 0 (n 0, previous 1000), collected 0, receivables 400 (change 0)
//	South Mar: billed 0 (n 0), receivables 0
//	South Apr: billed 300 (n 1, change +300), collected 100 (n 1), receivables 300 − 100 = 200,
//	           all past due on 05-01 (overdue share 1)
func TestCashGroupSeriesAPI(t *testing.T) {
	db, eng := newKPIFixture(t)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO contracts (contract_id, opportunity_id, signed_at, committed_delivery_at, _file) VALUES ('K2', 'A2', ?, ?, 'fx')`, []any{day("03-06"), day("03-30")}},
		{`INSERT INTO invoices (invoice_id, contract_id, issued_at, due_at, amount, _file) VALUES ('I2', 'K2', ?, ?, 300, 'fx')`, []any{day("04-10"), day("04-20")}},
		{`INSERT INTO payments (payment_id, invoice_id, received_at, amount, _file) VALUES ('P2', 'I2', ?, 100, 'fx')`, []any{day("04-15")}},
	} {
		if _, err := db.Write.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	testwarehouse.Refresh(t, db, eng)
	type val struct {
		Value, Previous float64
		Change          *float64
		N, PreviousN    int
	}
	type cash struct{ Billed, Collected, Receivables, OverdueShare val }
	var resp struct {
		Cash struct {
			Groups []struct {
				Key    []struct{ Value string }
				Series []struct {
					Start  string
					Result cash
				}
			}
		}
	}
	c := client.New(kpiHandler(db, eng))
	c.MustPost(`{ cash(scope: {from: "2025-03-01T00:00:00Z", to: "2025-05-01T00:00:00Z", groupBy: [BUSINESS_UNIT], grain: MONTH}) {
		groups { key { value } series { start result {
			billed { value previous change n previousN } collected { value previous change n previousN }
			receivables { value previous change n previousN } overdueShare { value previous change n previousN } } } } } }`, &resp)
	check := func(name string, got val, value, previous float64, n, pn int, change float64) {
		t.Helper()
		if got.Value != value || got.Previous != previous || got.N != n || got.PreviousN != pn || got.Change == nil || math.Abs(*got.Change-change) > 1e-9 {
			t.Errorf("%s = %+v, want %v (previous %v, n %d/%d, change %v)", name, got, value, previous, n, pn, change)
		}
	}
	gs := resp.Cash.Groups
	if len(gs) != 2 || gs[0].Key[0].Value != "North" || gs[1].Key[0].Value != "South" || len(gs[0].Series) != 2 || len(gs[1].Series) != 2 {
		t.Fatalf("groups = %+v, want North and South with two months each", gs)
	}
	if gs[0].Series[0].Start != "2025-03-01T00:00:00Z" || gs[1].Series[1].Start != "2025-04-01T00:00:00Z" {
		t.Errorf("series starts %s, %s", gs[0].Series[0].Start, gs[1].Series[1].Start)
	}
	nMar, nApr := gs[0].Series[0].Result, gs[0].Series[1].Result
	check("North Mar billed", nMar.Billed, 1000, 0, 1, 0, 1000)
	check("North Mar collected", nMar.Collected, 600, 0, 1, 0, 600)
	check("North Mar receivables", nMar.Receivables, 400, 0, 1, 0, 400)
	check("North Apr billed", nApr.Billed, 0, 1000, 0, 1, -1000)
	check("North Apr receivables", nApr.Receivables, 400, 400, 1, 1, 0)
	sMar, sApr := gs[1].Series[0].Result, gs[1].Series[1].Result
	check("South Mar billed", sMar.Billed, 0, 0, 0, 0, 0)
	check("South Mar receivables", sMar.Receivables, 0, 0, 0, 0, 0)
	check("South Apr billed", sApr.Billed, 300, 0, 1, 0, 300)
	check("South Apr collected", sApr.Collected, 100, 0, 1, 0, 100)
	check("South Apr receivables", sApr.Receivables, 200, 0, 1, 0, 200)
	if o := sApr.OverdueShare; o.Value != 1 || o.N != 1 || o.Change != nil {
		t.Errorf("South Apr overdue share = %+v, want 1 over 1 (previous undefined)", o)
	}
}
