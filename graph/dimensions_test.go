package graph

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

// leadScoringCSV is a lead-scoring export: conversion is a 0/1 column, and "Lead Origin" has
// nowhere to go among the built-in attributes.
const leadScoringCSV = `Prospect ID,Created,Lead Origin,Converted
p1,2026-03-02,API,1
p2,2026-03-03,API,0
p3,2026-03-04,API,0
p4,2026-03-05,Landing Page Submission,1
p5,2026-03-06,Landing Page Submission,1
p6,2026-03-07,Lead Add Form,1
p7,2026-03-08,Landing Page Submission,0
p8,2026-03-09,,0
p9,2026-02-10,API,1
`

// leadScoringYAML maps Converted through status (1 → converted, 0 → NULL) and Lead Origin into
// the attribute lead_origin, which the custom dimension origin reads.
const leadScoringYAML = `sources:
  - name: leads
    format: csv
    glob: leads.csv
    target: leads
    columns:
      lead_id: {from: "Prospect ID"}
      created_at: {from: Created}
      status: {from: Converted, map: {"1": converted, "0": ""}}
      attributes.lead_origin: {from: "Lead Origin"}
dimensions:
  - {name: origin, attribute: lead_origin, title: Lead origin}
`

// leadScoringServer loads the export through the real ETL and serves it over HTTP with the
// production handler.
func leadScoringServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"leads.csv": leadScoringCSV, "ltc.yaml": leadScoringYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w := testwarehouse.FromConfig(t, filepath.Join(dir, "ltc.yaml"), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(NewHandler(NewResolver(Deps{DB: w.DB, KPI: w.Engine, Version: "test", Logger: quietLogger()}),
		HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger()}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// postJSON posts query to url and decodes the answer into out.
func postJSON(t *testing.T, url, query string, out any) {
	t.Helper()
	_, b := postQuery(t, url, query)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%v: %.300s", err, b)
	}
}

// TestCustomDimensionThroughAPI: a lead-scoring export loaded by configuration alone gives the
// hand-computed lead conversion overall, filtered and grouped by its "Lead Origin" column.
func TestCustomDimensionThroughAPI(t *testing.T) {
	url := leadScoringServer(t)
	type val struct {
		Value, Previous float64
		N, PreviousN    int
	}
	type group struct {
		Key []struct {
			Dimension *string
			Name      string
			Value     string
		}
		Result val
	}
	var resp struct {
		Data struct {
			All      struct{ Total val }
			ByOrigin struct{ Groups []group }
			Filtered struct {
				Total  val
				Groups []group
			}
			Diagnosis struct {
				Cost struct {
					Unfiltered      []string
					UnfilteredNames []string
				}
			}
			Catalog struct {
				Dimensions []struct {
					Name, Title    string
					Dimension      *string
					Custom         bool
					Attribute      *string
					DistinctValues int
					Values         []string
				}
			}
		}
		Errors []struct{ Message string }
	}
	const scope = `from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z"`
	postJSON(t, url, `{
		all: leadConversion(scope: {`+scope+`}) { total { value previous n previousN } }
		byOrigin: leadConversion(scope: {`+scope+`, groupByNames: ["origin"]}) { groups { key { dimension name value } result { value previous n previousN } } }
		filtered: leadConversion(scope: {`+scope+`, filters: [{name: "origin", values: ["Landing Page Submission", "Lead Add Form"]}],
			groupBy: [BUSINESS_UNIT], groupByNames: ["origin"]}) {
			total { value previous n previousN } groups { key { dimension name value } result { value n } } }
		diagnosis(scope: {`+scope+`, filters: [{name: "origin", values: ["API"]}, {dimension: REGION, values: ["EU"]}]}) { cost { unfiltered unfilteredNames } }
		catalog { dimensions { name title dimension custom attribute distinctValues values } }
	}`, &resp)
	if len(resp.Errors) > 0 {
		t.Fatalf("errors: %+v", resp.Errors)
	}
	// March leads p1-p8, converted (Converted = 1 → status converted) p1 p4 p5 p6: 4/8. Previous
	// period [01-29, 03-01): p9, converted: 1/1. ("0" maps to "": NULL, not a status.)
	if got := resp.Data.All.Total; got != (val{0.5, 1, 8, 1}) {
		t.Errorf("lead conversion = %+v, want 4/8, previous 1/1", got)
	}
	// By origin: "" p8 0/1; API p1 p2 p3 1/3 (previous p9 1/1); Landing Page Submission p4 p5 p7
	// 2/3; Lead Add Form p6 1/1.
	want := []struct {
		origin string
		v      val
	}{{"", val{0, 0, 1, 0}}, {"API", val{1.0 / 3, 1, 3, 1}}, {"Landing Page Submission", val{2.0 / 3, 0, 3, 0}}, {"Lead Add Form", val{1, 0, 1, 0}}}
	gs := resp.Data.ByOrigin.Groups
	if len(gs) != len(want) {
		t.Fatalf("groups %+v, want %d", gs, len(want))
	}
	for i, w := range want {
		k := gs[i].Key
		if len(k) != 1 || k[0].Name != "origin" || k[0].Dimension != nil || k[0].Value != w.origin {
			t.Errorf("group %d key %+v, want origin=%q with no enum", i, k, w.origin)
		}
		if g := gs[i].Result; g.N != w.v.N || g.PreviousN != w.v.PreviousN || abs(g.Value-w.v.Value) > 1e-9 || g.Previous != w.v.Previous {
			t.Errorf("origin %q: %+v, want %+v", w.origin, g, w.v)
		}
	}
	// Filtered to Landing Page Submission and Lead Add Form: p4 p5 p6 p7, 3/4; nothing before.
	// Grouped by business unit (none: "") then origin: 2/3 and 1/1.
	f := resp.Data.Filtered
	if f.Total != (val{0.75, 0, 4, 0}) {
		t.Errorf("filtered = %+v, want 3/4", f.Total)
	}
	if len(f.Groups) != 2 || len(f.Groups[0].Key) != 2 || f.Groups[0].Key[0].Name != "business_unit" || f.Groups[0].Key[0].Dimension == nil ||
		*f.Groups[0].Key[0].Dimension != "BUSINESS_UNIT" || f.Groups[0].Key[1].Value != "Landing Page Submission" ||
		abs(f.Groups[0].Result.Value-2.0/3) > 1e-9 || f.Groups[1].Key[1].Value != "Lead Add Form" || f.Groups[1].Result.N != 1 {
		t.Errorf("filtered groups %+v", f.Groups)
	}
	// Marketing spend knows business unit and channel only: region and origin leave it unfiltered.
	if c := resp.Data.Diagnosis.Cost; strings.Join(c.Unfiltered, ",") != "REGION" || strings.Join(c.UnfilteredNames, ",") != "origin,region" {
		t.Errorf("diagnosis cost unfiltered %v, names %v; want [REGION], [origin region]", c.Unfiltered, c.UnfilteredNames)
	}
	ds := resp.Data.Catalog.Dimensions
	last := ds[len(ds)-1]
	if last.Name != "origin" || last.Title != "Lead origin" || !last.Custom || last.Dimension != nil ||
		last.Attribute == nil || *last.Attribute != "lead_origin" || last.DistinctValues != 3 ||
		strings.Join(last.Values, "|") != "API|Landing Page Submission|Lead Add Form" {
		t.Errorf("catalog's last dimension %+v, want origin (custom, lead_origin, 3 values)", last)
	}
	if ds[0].Name != "business_unit" || ds[0].Custom || ds[0].Dimension == nil {
		t.Errorf("catalog's first dimension %+v, want the built-in business_unit", ds[0])
	}
}

// TestCustomDimensionErrors: an unknown name is BAD_SCOPE listing the valid names (built-ins and
// custom); a filter giving both or neither of dimension and name is BAD_SCOPE.
func TestCustomDimensionErrors(t *testing.T) {
	url := leadScoringServer(t)
	const scope = `from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z"`
	for _, c := range []struct{ scope, want string }{
		{`groupByNames: ["lead_source"]`, `unknown dimension "lead_source" in groupBy (want one of business_unit, region, segment, product_line, channel, owner, team, branch, origin)`},
		{`filters: [{name: "Lead Origin", values: ["API"]}]`, `unknown dimension "Lead Origin" in filters (want one of business_unit, region, segment, product_line, channel, owner, team, branch, origin)`},
		{`filters: [{name: "origin", dimension: REGION, values: ["API"]}]`, `give dimension (REGION) or name ("origin"), not both`},
		{`filters: [{values: ["API"]}]`, `give dimension or name`},
		{`filters: [{name: "region", values: ["EU"]}, {dimension: REGION, values: ["US"]}]`, `dimension region filtered twice`},
	} {
		var resp struct {
			Errors []struct {
				Message    string
				Extensions struct{ Code string }
			}
		}
		postJSON(t, url, `{ leadConversion(scope: {`+scope+`, `+c.scope+`}) { total { value } } }`, &resp)
		if len(resp.Errors) != 1 || resp.Errors[0].Extensions.Code != "BAD_SCOPE" || !strings.Contains(resp.Errors[0].Message, c.want) {
			t.Errorf("%s: errors %+v, want BAD_SCOPE containing %q", c.scope, resp.Errors, c.want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
