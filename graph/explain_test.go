package graph

import (
	"math"
	"testing"

	"github.com/99designs/gqlgen/client"
)

// TestExplainChangeAPI: lead conversion by business unit on the KPI fixture, worked by hand.
// March: North L1, L3 both converted (2/2), South L2 converted, L5 not (1/2): 3/4 = 0.75. Previous
// period: North L4 converted, 1/1. Change −0.25. Weights now 0.5/0.5, before North 1, South 0.
// North: mix (0.5 − 1) × 1 = −0.5, rate 0.5 × (1 − 1) = 0. South enters at the previous total 1:
// mix 0.5 × 1 = 0.5, rate 0.5 × (0.5 − 1) = −0.25. Mix 0 + rate −0.25 = the change.
func TestExplainChangeAPI(t *testing.T) {
	c := client.New(newKPIHandler(t))
	var resp struct {
		ExplainChange struct {
			Kpi    string
			Value  struct{ Value, Previous float64 }
			Splits []struct {
				Dimension     *string
				Name          string
				Mix, Rate     float64
				Contributions []struct {
					Value                  string
					N, PreviousN           int
					Weight, PreviousWeight float64
					Mix, Rate, Total       float64
				}
			}
		}
	}
	c.MustPost(`{ explainChange(kpi: "lead_conversion", scope: `+march+`, groupBy: [BUSINESS_UNIT]}) {
		kpi value { value previous } splits { dimension name mix rate contributions { value n previousN weight previousWeight mix rate total } } } }`, &resp)
	x := resp.ExplainChange
	if x.Kpi != "lead_conversion" || x.Value.Value != 0.75 || x.Value.Previous != 1 || len(x.Splits) != 1 {
		t.Fatalf("explanation = %+v", x)
	}
	sp := x.Splits[0]
	if sp.Name != "business_unit" || sp.Dimension == nil || *sp.Dimension != "BUSINESS_UNIT" || len(sp.Contributions) != 2 {
		t.Fatalf("split = %+v", sp)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("mix", sp.Mix, 0)
	near("rate", sp.Rate, -0.25)
	north, south := sp.Contributions[0], sp.Contributions[1]
	if north.Value != "North" || south.Value != "South" || north.N != 2 || north.PreviousN != 1 || south.PreviousN != 0 {
		t.Fatalf("contributions = %+v", sp.Contributions)
	}
	near("North mix", north.Mix, -0.5)
	near("North rate", north.Rate, 0)
	near("South mix", south.Mix, 0.5)
	near("South rate", south.Rate, -0.25)
	near("South total", south.Total, 0.25)

	h := newKPIHandler(t)
	for q, want := range map[string]string{
		`{ explainChange(kpi: "billed", scope: ` + march + `, groupBy: [REGION]}) { kpi } }`:     "BAD_SCOPE",
		`{ explainChange(kpi: "win_rate", scope: ` + march + `}) { kpi } }`:                      "BAD_SCOPE",
		`{ explainChange(kpi: "win_rate", scope: ` + march + `, groupByNames: ["x"]}) { kpi } }`: "BAD_SCOPE",
	} {
		if _, codes := httpCodes(t, h, q); len(codes) != 1 || codes[0] != want {
			t.Errorf("%s: codes %v, want [%s]", q, codes, want)
		}
	}
}
