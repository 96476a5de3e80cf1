package config

import (
	"strings"
	"testing"
)

// TestDimensionsParseAndValidate: dimensions: declares custom dimensions over the attributes a
// source maps; bad names, clashes with built-ins, repeats and unmapped attributes are all listed.
func TestDimensionsParseAndValidate(t *testing.T) {
	const leads = `
sources:
  - name: leads
    format: csv
    glob: leads/*.csv
    target: leads
    columns:
      attributes.lead_origin: {from: "Lead Origin"}
`
	c, err := Parse("ltc.yaml", []byte(leads+`
dimensions:
  - {name: origin, attribute: lead_origin, title: Lead origin}
`), "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Dimensions) != 1 || c.Dimensions[0].Name != "origin" || c.Dimensions[0].Attribute != "lead_origin" || c.Dimensions[0].Title != "Lead origin" {
		t.Errorf("dimensions = %+v", c.Dimensions)
	}
	_, err = Parse("bad.yaml", []byte(leads+`
dimensions:
  - {name: Origin, attribute: lead_origin}
  - {name: region, attribute: lead_origin}
  - {name: origin, attribute: lead_origin}
  - {name: origin, attribute: lead_origin}
  - {name: score, attribute: lead_score}
  - {name: quoted, attribute: "x'); DROP TABLE leads; --"}
`), "/tmp")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`dimensions[0]: name "Origin": want a lower_snake identifier`,
		`dimensions[1]: name "region" is a built-in dimension`,
		`dimensions[3]: name "origin": declared twice`,
		`dimensions[4] (score): attribute "lead_score": no source maps it`,
		`dimensions[5]: attribute "x'); DROP TABLE leads; --": want the lower_snake name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
