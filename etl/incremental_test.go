package etl_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// derivedTables are the tables kpi.Refresh maintains.
var derivedTables = []string{"kpi_case", "kpi_case_stage", "kpi_case_gate", "kpi_lead", "kpi_invoice", "kpi_payment", "kpi_delivery"}

// refreshMode is what one refresh was asked to do.
type refreshMode struct {
	full    bool
	touched int64
}

// TestIncrementalRefreshMatchesFull loads the small demo, then changes it through new and
// rewritten files in every table the derived tables read: new events for existing and new cases,
// a lead and an opportunity moved to another file with new attributes, an owner's team, an
// invoice with its payment, a delivery, an assignment; then removes some of those rows again.
// After each run the refresh must have been incremental, and every derived table must hold exactly
// the rows a full rebuild writes.
func TestIncrementalRefreshMatchesFull(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := synth.Generate(ctx, dir, synth.Options{Size: "small", Seed: 3, Now: testwarehouse.DemoNow}); err != nil {
		t.Fatal(err)
	}
	// Single-file sources become globs, so extra files join them.
	cfgPath := filepath.Join(dir, "ltc.yaml")
	text, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"leads.csv", "employees.csv", "opportunities.jsonl", "deliveries.csv", "invoices.csv", "payments.csv", "assignments.csv"} {
		ext := filepath.Ext(name)
		text = []byte(strings.Replace(string(text), `glob: "`+name+`"`, `glob: "`+strings.TrimSuffix(name, ext)+"*"+ext+`"`, 1))
	}
	if err := os.WriteFile(cfgPath, text, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	model, err := cfg.Model()
	if err != nil {
		t.Fatal(err)
	}
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := kpi.New(db, model, kpi.Options{AdoptionFrom: cfg.KPI.AdoptionFrom})
	var modes []refreshMode
	refresh := func(ctx context.Context, tx *sql.Tx) error {
		full, touched, err := kpi.RefreshMode(ctx, tx)
		if err != nil {
			return err
		}
		modes = append(modes, refreshMode{full, touched})
		return eng.Refresh(ctx, tx)
	}
	r := etl.NewRunner(etl.Options{DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve, Refresh: refresh})
	runAll := func(round string) {
		t.Helper()
		modes = nil
		results, err := r.RunAll(ctx)
		if err != nil {
			t.Fatalf("%s: %v", round, err)
		}
		for _, res := range results {
			if res.RowsQuarantined > 0 {
				t.Errorf("%s: %s quarantined %d rows", round, res.Job, res.RowsQuarantined)
			}
		}
	}
	runAll("initial load")
	if len(modes) != 1 || !modes[0].full {
		t.Fatalf("initial load: refreshes %+v, want one full", modes)
	}

	// A contract with an invoice, a payment and a delivery, to change those.
	var contract, contractCase, delivery string
	if err := db.Read.QueryRowContext(ctx, `SELECT k.contract_id, k.opportunity_id, d.delivery_id FROM contracts k
		JOIN invoices i USING (contract_id) JOIN payments p ON p.invoice_id = i.invoice_id
		JOIN deliveries d ON d.contract_id = k.contract_id ORDER BY k.contract_id LIMIT 1`).Scan(&contract, &contractCase, &delivery); err != nil {
		t.Fatal(err)
	}
	// A converted lead, to move to another file without its opportunity: its old case loses it
	// (one of the last, so no other change touches that case).
	var movedLead, movedFrom string
	if err := db.Read.QueryRowContext(ctx, `SELECT lead_id, opportunity_id FROM leads WHERE opportunity_id IS NOT NULL
		AND opportunity_id <> 'O-0000001' ORDER BY lead_id DESC LIMIT 1`).Scan(&movedLead, &movedFrom); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exec := func(q string) {
		t.Helper()
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Round 1. Events: thirty opportunities get a repeat of their last event an hour later, ten
	// of them an event a day before their first (a new start), and a new case O-9999001 appears.
	exec(fmt.Sprintf(`COPY (
		WITH picked AS (SELECT DISTINCT case_id FROM stage_events WHERE case_id LIKE 'O-%%' ORDER BY case_id LIMIT 30),
		ev AS (SELECT e.*, row_number() OVER (PARTITION BY e.case_id ORDER BY occurred_at DESC, seq DESC) AS back,
		              row_number() OVER (PARTITION BY e.case_id ORDER BY occurred_at, seq) AS fwd,
		              dense_rank() OVER (ORDER BY e.case_id) AS k
		       FROM stage_events e JOIN picked USING (case_id))
		SELECT case_id, activity, strftime(occurred_at + INTERVAL 1 HOUR, '%%Y-%%m-%%d %%H:%%M:%%S') AS occurred_at,
		       actor_id, actor_role, outcome, template_used FROM ev WHERE back = 1
		UNION ALL
		SELECT case_id, activity, strftime(occurred_at - INTERVAL 1 DAY, '%%Y-%%m-%%d %%H:%%M:%%S'),
		       actor_id, actor_role, outcome, template_used FROM ev WHERE fwd = 1 AND k <= 10
		UNION ALL
		SELECT 'O-9999001', 'Lead Created', '2026-05-01 09:00:00', 'E-0000001', 'sales', NULL, NULL
		UNION ALL
		SELECT 'O-9999001', 'Opportunity Created', '2026-05-03 09:00:00', 'E-0000001', 'sales', NULL, NULL
	) TO '%s' (HEADER, FORMAT csv)`, filepath.Join(dir, "events", "zz-extra.csv")))
	write("leads-extra.csv", "lead_id,created_at,channel,campaign,account_id,owner_id,business_unit,region,segment,status,qualified_at,converted_at,opportunity_id\n"+
		"L-9999001,2026-05-01 09:00:00,web,,A-0000001,E-0000001,North,EMEA,SMB,Converted,2026-05-02 09:00:00,2026-05-03 09:00:00,O-9999001\n"+
		movedLead+",2024-11-27 09:37:05,partner,,A-0000002,E-0000008,Central,EMEA,SMB,Qualified,,,\n")
	write("opportunities-extra.jsonl", `{"opportunity_id":"O-9999001","lead_id":"L-9999001","owner_id":"E-0000001","business_unit":"North","region":"EMEA","segment":"SMB","product_line":"Starter","created_at":"2026-05-03 09:00:00","status":"Open","amount":1000,"currency":"EUR"}
{"opportunity_id":"O-0000001","lead_id":"L-0000001","account_id":"A-0000251","owner_id":"E-0000041","business_unit":"North","region":"EMEA","segment":"Enterprise","product_line":"Enterprise Platform","created_at":"2024-12-04 17:36:22","closed_at":"2024-12-31 15:24:47","status":"Won","amount":167616.02,"currency":"EUR"}
`)
	write("employees-extra.csv", "employee_id,name,role,team,manager,business_unit,region,hired_at,certified_at\n"+
		"E-0000041,Moved Seller,sales,Tiger Team,,South,Americas,2020-10-17 09:07:45,\n")
	write("invoices-extra.csv", "invoice_id,contract_id,issued_at,due_at,amount\nI-9999001,"+contract+",2026-06-01 10:00:00,2026-07-01 10:00:00,500.00\n")
	write("payments-extra.csv", "payment_id,invoice_id,received_at,amount\nP-9999001,I-9999001,2026-06-20 10:00:00,500.00\n")
	write("deliveries-extra.csv", "delivery_id,contract_id,started_at,accepted_at,csat\n"+delivery+","+contract+",2025-01-31 14:38:02,2026-09-30 16:39:44,2.0\n")
	write("assignments-extra.csv", "opportunity_id,employee_id,role,assigned_at\nO-0000001,E-0000002,delivery,2024-12-20 10:00:00\n")
	runAll("round 1")
	for _, want := range []string{contractCase, "O-0000001", "O-9999001", movedLead, movedFrom} {
		var n int64
		db.Read.QueryRowContext(ctx, "SELECT count(*) FROM kpi_case WHERE case_id = ?", want).Scan(&n)
		if n != 1 {
			t.Errorf("round 1: case %s: %d rows in kpi_case, want 1", want, n)
		}
	}
	assertIncremental(t, "round 1", modes)
	assertMatchesFull(t, ctx, db, eng, "round 1")

	// Round 2: the extra files lose rows: those rows leave the warehouse (the moved lead, whose row moved
	// to leads-extra.csv, with them), and the cases they touched are rebuilt again.
	write("leads-extra.csv", "lead_id,created_at,channel,campaign,account_id,owner_id,business_unit,region,segment,status,qualified_at,converted_at,opportunity_id\n"+
		"L-9999001,2026-05-01 09:00:00,web,,A-0000001,E-0000001,North,EMEA,SMB,Converted,2026-05-02 09:00:00,2026-05-03 09:00:00,O-9999001\n")
	write("payments-extra.csv", "payment_id,invoice_id,received_at,amount\n")
	write("assignments-extra.csv", "opportunity_id,employee_id,role,assigned_at\n")
	exec(fmt.Sprintf(`COPY (SELECT * FROM read_csv('%[1]s') WHERE case_id <> 'O-9999001' LIMIT 15) TO '%[1]s.tmp' (HEADER, FORMAT csv)`,
		filepath.Join(dir, "events", "zz-extra.csv")))
	if err := os.Rename(filepath.Join(dir, "events", "zz-extra.csv.tmp"), filepath.Join(dir, "events", "zz-extra.csv")); err != nil {
		t.Fatal(err)
	}
	runAll("round 2")
	assertIncremental(t, "round 2", modes)
	assertMatchesFull(t, ctx, db, eng, "round 2")
	var gone int64
	db.Read.QueryRow("SELECT count(*) FROM kpi_lead WHERE lead_id = ?", movedLead).Scan(&gone)
	if gone != 0 {
		t.Errorf("round 2: lead %s should have left kpi_lead with its row", movedLead)
	}
}

// assertIncremental checks that one refresh ran, incremental over some cases.
func assertIncremental(t *testing.T, round string, modes []refreshMode) {
	t.Helper()
	if len(modes) != 1 || modes[0].full || modes[0].touched == 0 {
		t.Fatalf("%s: refreshes %+v, want one incremental over some cases", round, modes)
	}
	t.Logf("%s: incremental refresh over %d cases", round, modes[0].touched)
}

// assertMatchesFull keeps the derived tables the incremental refresh wrote, rebuilds them whole,
// and compares the two as multisets of rows.
func assertMatchesFull(t *testing.T, ctx context.Context, db *schema.DB, eng *kpi.Engine, round string) {
	t.Helper()
	for _, tb := range derivedTables {
		if _, err := db.Write.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE inc_"+tb+" AS SELECT * FROM "+tb); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // the comparison needs no commit
	if _, err := tx.ExecContext(ctx, "UPDATE data_version SET refresh_full = true"); err != nil {
		t.Fatal(err)
	}
	if err := eng.Refresh(ctx, tx); err != nil {
		t.Fatal(err)
	}
	for _, tb := range derivedTables {
		var total, onlyInc, onlyFull int64
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM `+tb+`),
			(SELECT count(*) FROM (SELECT * FROM inc_`+tb+` EXCEPT ALL SELECT * FROM `+tb+`)),
			(SELECT count(*) FROM (SELECT * FROM `+tb+` EXCEPT ALL SELECT * FROM inc_`+tb+`))`).Scan(&total, &onlyInc, &onlyFull); err != nil {
			t.Fatal(err)
		}
		if onlyInc != 0 || onlyFull != 0 {
			t.Errorf("%s: %s differs from a full rebuild (%d rows): %d rows only incremental, %d only full", round, tb, total, onlyInc, onlyFull)
		}
	}
}
