package schema

import (
	"strings"
	"testing"
)

func TestStandardModel(t *testing.T) {
	m := StandardModel()
	if m.Name != "ltc-standard" {
		t.Fatalf("name %q", m.Name)
	}
	if got := m.StageOf("Contract Review"); got != "contract_review" {
		t.Errorf("StageOf(Contract Review) = %q", got)
	}
	if got := m.StageOf("Coffee with client"); got != "" {
		t.Errorf("personal activity mapped to %q", got)
	}
	if got := m.BranchFor(map[string]string{"product_line": "Enterprise Platform"}); got != "complex" {
		t.Errorf("BranchFor(Enterprise Platform) = %q, want complex", got)
	}
	if got := m.BranchFor(map[string]string{"product_line": "Starter"}); got != "standard" {
		t.Errorf("BranchFor(Starter) = %q, want standard", got)
	}
	for ms, id := range map[Milestone]string{MilestoneLeadCreated: "lead_created", MilestoneOpportunityCreated: "opportunity_created",
		MilestoneWon: "contract_signed", MilestoneDeliveryStarted: "delivery_started", MilestoneDelivered: "delivery_accepted",
		MilestoneInvoiced: "invoiced", MilestoneCashCollected: "cash_collected"} {
		if got, ok := m.MilestoneStage(ms); !ok || got != id {
			t.Errorf("milestone %s is %q, want %q", ms, got, id)
		}
	}
	for _, id := range []string{"invoiced", "cash_collected"} {
		if st, _ := m.Stage(id); !st.Repeatable {
			t.Errorf("%s is not repeatable (milestone billing repeats invoices and payments)", id)
		}
	}
	sd, _ := m.Stage("solution_design")
	if sd.Expected("standard") || !sd.Expected("complex") {
		t.Errorf("solution_design expected: standard=%v complex=%v", sd.Expected("standard"), sd.Expected("complex"))
	}
}

func TestModelValidationErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings, each must appear
	}{
		{"unknown guarded stage", `process:
  name: p
  stages:
    - {id: a, tier: core}
    - id: g
      tier: core
      gate: {guards: nowhere}
`, []string{"m.yaml:7: gate: gate \"g\" guards unknown stage \"nowhere\""}},
		{"duplicate ids", `process:
  name: p
  stages:
    - {id: a, tier: core}
    - {id: a, tier: core}
`, []string{"m.yaml:5: id: duplicate stage id \"a\""}},
		{"gate cycle", `process:
  name: p
  stages:
    - {id: a, tier: core, gate: {guards: b}}
    - {id: b, tier: core, gate: {guards: a}}
`, []string{"m.yaml:5: gate: gate \"b\" guards \"a\", which comes before it", "cycle: "}},
		{"bad tier and branch, all listed", `process:
  name: p
  branches: [{id: std}]
  stages:
    - {id: a, tier: gold}
    - {id: b, tier: branch, branches: [nope]}
`, []string{"m.yaml:5: tier: stage \"a\": tier must be core or branch", "m.yaml:6: branches: stage \"b\": unknown branch \"nope\""}},
		{"milestones: unknown, twice; unknown iron_triangle_after", `process:
  name: p
  iron_triangle_after: nowhere
  stages:
    - {id: a, tier: core, milestone: signed}
    - {id: b, tier: core, milestone: won}
    - {id: c, tier: core, milestone: won}
`, []string{`m.yaml:5: milestone: stage "a": unknown milestone "signed" (want one of lead_created, opportunity_created, won, delivery_started, delivered, invoiced, cash_collected)`,
			`m.yaml:7: milestone: milestone "won" is marked on both "b" and "c"`, `iron_triangle_after: unknown stage "nowhere"`}},
		{"unknown field", `process:
  name: p
  stages:
    - {id: a, tier: core, colour: red}
`, []string{"m.yaml", "line 4", "colour"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseModel("m.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
