package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// TestCheckVerifiesSourceColumns: `ltc check` reads each matched file's header (CSV), schema
// (Parquet) or first record (JSON Lines) and lists every column the mapping reads that is
// missing, with source and file, and exits non-zero (issue 11, item 8).
func TestCheckVerifiesSourceColumns(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("leads/a.csv", "Id,Created,Owner\nl1,2026-01-01,ann\n")
	write("leads/b.csv", "Id,Owner\nl2,bob\n") // no Created
	write("owners.csv", "owner,office\nann,West\n")
	write("opps/a.jsonl", "\n"+`{"id":"o1","amount":5}`+"\n")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("COPY (SELECT 'k1' AS contract, 'o1' AS opp) TO '" + filepath.Join(dir, "contracts.parquet") + "' (FORMAT parquet)"); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "ltc.yaml")
	write("ltc.yaml", `sources:
  - name: leads
    format: csv
    glob: leads/*.csv
    target: leads
    columns:
      lead_id: {from: Id}
      created_at: {from: Created}
      region: {lookup: {file: owners.csv, key: owner, value: region, from: Owner}}
  - name: opps
    format: jsonl
    glob: opps/*.jsonl
    target: opportunities
    columns:
      opportunity_id: {from: id}
      status: {from: stage}
  - name: contracts
    format: parquet
    glob: contracts.parquet
    target: contracts
    columns:
      contract_id: {from: contract}
      opportunity_id: {from: opportunity}
`)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", cfg}, &out, &errOut); code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	got := errOut.String()
	for _, want := range []string{
		`source "leads": ` + filepath.Join(dir, "leads/b.csv") + `: missing column "Created" (for created_at)`,
		`source "leads": lookup file ` + filepath.Join(dir, "owners.csv") + `: missing column "region" (for region)`,
		`source "opps": ` + filepath.Join(dir, "opps/a.jsonl") + `: missing column "stage" (for status)`,
		`source "contracts": ` + filepath.Join(dir, "contracts.parquet") + `: missing column "opportunity" (for opportunity_id)`,
		// A required field without a mapping is read by its own name.
		`source "contracts": ` + filepath.Join(dir, "contracts.parquet") + `: missing column "signed_at" (for signed_at)`,
		"5 problems in the source files",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("check does not say %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "leads/a.csv") {
		t.Errorf("a.csv has every column:\n%s", got)
	}
}

// TestCheckRejectsWrongSideTargets: with a warehouse, `ltc check` measures each initiative target's
// baseline and rejects a target on the wrong side for its KPI's direction (DESIGN §5): the demo's
// sales-cycle target of 25 days is below its baseline (lower is better) and passes; 400 days, far
// above any baseline, is refused with the initiative and KPI named. Without a warehouse the check
// says it cannot measure yet and passes.
func TestCheckRejectsWrongSideTargets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := newDemo(t, dir, "")
	check := func() (int, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, []string{"check", "--config", cfg}, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := check(); code != 0 {
		t.Fatalf("ltc check of the demo: %d\n%s", code, out)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Replace(string(b), "sales_cycle: 25", "sales_cycle: 400", 1)
	if wrong == string(b) {
		t.Fatal("the demo config has no sales_cycle: 25 target")
	}
	if err := os.WriteFile(cfg, []byte(wrong), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := check()
	if code == 0 || !strings.Contains(out, `initiative "north-pilot", target sales_cycle`) || !strings.Contains(out, "wrong side of the baseline") {
		t.Errorf("ltc check with a 400-day target: %d\n%s", code, out)
	}
	if err := os.Remove(filepath.Join(dir, "ltc.duckdb")); err != nil {
		t.Fatal(err)
	}
	if code, out := check(); code != 0 || !strings.Contains(out, "no warehouse at") {
		t.Errorf("ltc check without a warehouse: %d\n%s", code, out)
	}
}
