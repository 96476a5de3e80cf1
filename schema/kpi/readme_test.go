package kpi

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's KPI table from the catalog")

const (
	readmePath = "../../README.md"
	tableStart = "<!-- kpi-catalog:start (generated from schema/kpi Catalog: go test ./schema/kpi -run README -update-readme) -->"
	tableEnd   = "<!-- kpi-catalog:end -->"
)

// catalogTable renders the catalog as the README's markdown table.
func catalogTable() string {
	var b strings.Builder
	b.WriteString("| KPI | name | unit | better | range applies to | definition (n: what it counts) | DESIGN |\n|---|---|---|---|---|---|---|\n")
	better := map[Direction]string{HigherIsBetter: "higher", LowerIsBetter: "lower", Neutral: "—"}
	for _, k := range Catalog() {
		def := k.Definition + " (n: " + k.Over + ")"
		if len(k.Milestones) > 0 {
			def += "; needs milestones " + strings.Join(schema.MilestoneStrings(k.Milestones), ", ")
		}
		if k.Maturity != "" {
			def += "; still maturing in a recent period: " + k.Maturity
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | §%s |\n", k.Title, k.Name, k.Unit, better[k.Direction], k.RangeOn, def, k.Section)
	}
	return b.String()
}

// TestREADMEKPITable: the README's KPI table is the catalog's (regenerate with -update-readme).
func TestREADMEKPITable(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no KPI table between %q and %q", tableStart, tableEnd)
	}
	want := tableStart + "\n" + catalogTable() + tableEnd
	if doc[i:j+len(tableEnd)] == want {
		return
	}
	if *updateReadme {
		if err := os.WriteFile(readmePath, []byte(doc[:i]+want+doc[j+len(tableEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's KPI table differs from the catalog; run go test ./schema/kpi -run README -update-readme")
}
