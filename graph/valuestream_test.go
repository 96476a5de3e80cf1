package graph

import (
	"math"
	"testing"

	"github.com/99designs/gqlgen/client"
)

// TestValueStreamGroupSeries: the sales value stream by business unit by month carries each unit's
// own series (the KPI fixture of kpi_test.go, February and March).
func TestValueStreamGroupSeries(t *testing.T) {
	c := client.New(newKPIHandler(t))
	type share struct {
		Value, Previous float64
		N, PreviousN    int
	}
	type stream struct {
		Bottleneck *string
		Cases      share
		Stages     []struct {
			Stage string
			Share share
		}
	}
	var resp struct {
		ValueStream struct {
			Groups []struct {
				Key    []struct{ Dimension, Value string }
				Series []struct {
					Start  string
					Result stream
				}
			}
		}
	}
	c.MustPost(`{ valueStream(scope: {from: "2025-02-01T00:00:00Z", to: "2025-04-01T00:00:00Z", groupBy: [BUSINESS_UNIT], grain: MONTH}) {
		groups { key { dimension value } series { start result { bottleneck cases { value previous n previousN }
			stages { stage share { value previous n previousN } } } } } } }`, &resp)
	g := resp.ValueStream.Groups
	if len(g) != 2 || g[0].Key[0].Value != "North" || g[1].Key[0].Value != "South" || g[0].Key[0].Dimension != "BUSINESS_UNIT" {
		t.Fatalf("groups = %+v, want North and South", g)
	}
	for _, x := range g {
		if len(x.Series) != 2 || x.Series[0].Start != "2025-02-01T00:00:00Z" || x.Series[1].Start != "2025-03-01T00:00:00Z" {
			t.Fatalf("%s series = %+v, want February and March", x.Key[0].Value, x.Series)
		}
	}
	shareOf := func(s stream, stage string) share {
		for _, st := range s.Stages {
			if st.Stage == stage {
				return st.Share
			}
		}
		t.Fatalf("no stage %s", stage)
		return share{}
	}
	check := func(name string, got share, value, previous float64, n, pn int) {
		t.Helper()
		if math.Abs(got.Value-value) > 1e-9 || math.Abs(got.Previous-previous) > 1e-9 || got.N != n || got.PreviousN != pn {
			t.Errorf("%s = %+v, want value %v previous %v n %d/%d", name, got, value, previous, n, pn)
		}
	}
	bottleneck := func(name string, s stream, want string) {
		t.Helper()
		got := ""
		if s.Bottleneck != nil {
			got = *s.Bottleneck
		}
		if got != want {
			t.Errorf("%s bottleneck = %q, want %q", name, got, want)
		}
	}
	// North, February: A4 signed 02-10, LC 02-01 → OC 02-02 → Q 02-03 → CR 02-04 → CS: LC 1, OC 1,
	// Q 1, CR 6 of 9 days; CR is the bottleneck.
	nf := g[0].Series[0].Result
	bottleneck("North February", nf, "contract_review")
	check("North Feb cases", nf.Cases, 1, 0, 1, 0)
	check("North Feb CR", shareOf(nf, "contract_review"), 6.0/9, 0, 1, 0)
	// North, March: A1 signed 03-11, LC 03-01 → OC 03-02 → Q 03-04 → CR 03-05 → CS: LC 1, OC 2,
	// Q 1, CR 6 of 10 days; previous (its February) 6/9 and Q 1/9.
	nm := g[0].Series[1].Result
	bottleneck("North March", nm, "contract_review")
	check("North Mar cases", nm.Cases, 1, 1, 1, 1)
	check("North Mar CR", shareOf(nm, "contract_review"), 0.6, 6.0/9, 1, 1)
	check("North Mar Q", shareOf(nm, "quote"), 0.1, 1.0/9, 1, 1)
	// South, February: nothing signed. March: A2 signed 03-06, LC 03-02 → OC 03-03 → Q 03-04 → CS
	// (its review came after): LC 1, OC 1, Q 2 of 4 days; Q is the bottleneck.
	bottleneck("South February", g[1].Series[0].Result, "")
	check("South Feb cases", g[1].Series[0].Result.Cases, 0, 0, 0, 0)
	sm := g[1].Series[1].Result
	bottleneck("South March", sm, "quote")
	check("South Mar cases", sm.Cases, 1, 0, 1, 0)
	check("South Mar Q", shareOf(sm, "quote"), 0.5, 0, 1, 0)
	check("South Mar CR", shareOf(sm, "contract_review"), 0, 0, 1, 0)
}
