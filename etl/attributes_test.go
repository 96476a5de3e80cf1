package etl

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
)

// TestAttributesColumnsFillTheMap: attributes.<name> columns land in the row's attributes map,
// value-mapped like any field; a value mapped to "" or empty leaves the key out; a spec without
// attributes stores NULL; CheckSources names a missing attribute column.
func TestAttributesColumnsFillTheMap(t *testing.T) {
	f := newFixture(t)
	f.write("leads/a.csv", "id,created,Lead Origin,Score\nl1,2026-01-01,API,5\nl2,2026-01-02,Landing Page Submission,\nl3,2026-01-03,n/a,7\n")
	spec := source.Spec{Name: "leads", Format: "csv", Glob: "leads/*.csv", Target: "leads",
		Columns: map[string]source.Column{
			"lead_id":                {From: "id"},
			"created_at":             {From: "created"},
			"attributes.lead_origin": {From: "Lead Origin", Map: map[string]string{"n/a": ""}},
			"attributes.score":       {From: "Score"},
		}}
	mustRun(t, f.runner(nil, spec), "leads")
	for _, c := range []struct{ id, want string }{
		{"l1", "{lead_origin=API, score=5}"},
		{"l2", "{lead_origin=Landing Page Submission}"},
		{"l3", "{score=7}"},
	} {
		if got := f.str("SELECT attributes::VARCHAR FROM leads WHERE lead_id = ?", c.id); got != c.want {
			t.Errorf("%s attributes = %q, want %q", c.id, got, c.want)
		}
	}
	if got := f.str("SELECT coalesce(attributes['lead_origin'], 'NULL') FROM leads WHERE lead_id = 'l3'"); got != "NULL" {
		t.Errorf("l3 lead_origin = %q, want NULL (n/a maps to \"\")", got)
	}

	f.write("opps/a.csv", "opportunity_id,status\no1,open\n")
	plain := source.Spec{Name: "opps", Format: "csv", Glob: "opps/*.csv", Target: "opportunities"}
	mustRun(t, f.runner(nil, plain), "opps")
	if n := f.count("SELECT count(*) FROM opportunities WHERE attributes IS NULL"); n != 1 {
		t.Errorf("opportunities without attributes mapped: %d with NULL attributes, want 1", n)
	}

	bad := spec
	bad.Columns = map[string]source.Column{"lead_id": {From: "id"}, "created_at": {From: "created"},
		"attributes.source": {From: "Lead Source"}}
	errs := CheckSources(context.Background(), f.db.Write, []source.Spec{bad}, func(p string) string { return filepath.Join(f.dir, p) })
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `missing column "Lead Source" (for attributes.source)`) {
		t.Errorf("CheckSources = %v, want the missing Lead Source column", errs)
	}
}

// TestAttributesColumnsAreValidated: attributes.<name> needs a lower_snake name, a source, and a
// target that keeps attributes.
func TestAttributesColumnsAreValidated(t *testing.T) {
	targets := map[string][]string{"leads": {"lead_id", "attributes"}, "invoices": {"invoice_id"}}
	for _, c := range []struct {
		target, key string
		col         source.Column
		want        string
	}{
		{"leads", "attributes.Lead Origin", source.Column{From: "x"}, "lower_snake"},
		{"leads", "attributes.origin", source.Column{}, "give from, const or lookup"},
		{"invoices", "attributes.origin", source.Column{From: "x"}, "keeps no attributes"},
	} {
		s := source.Spec{Name: "s", Format: "csv", Glob: "*.csv", Target: c.target, Columns: map[string]source.Column{c.key: c.col}}
		errs := s.Validate(targets)
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s %s: errors %v, want one containing %q", c.target, c.key, errs, c.want)
		}
	}
}
