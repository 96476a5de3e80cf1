package etl

import (
	"testing"

	"github.com/ltc-analytics/ltc/etl/source"
)

// TestValueMapToEmptyStoresNull: a value map to "" (or YAML null, which decodes to "") stores
// NULL, as an empty source value does (issue 11, item 4).
func TestValueMapToEmptyStoresNull(t *testing.T) {
	f := newFixture(t)
	f.write("leads/a.csv", "id,created,conv\nl1,2026-01-01,0\nl2,2026-01-02,1\n")
	spec := source.Spec{Name: "leads", Format: "csv", Glob: "leads/*.csv", Target: "leads",
		Columns: map[string]source.Column{
			"lead_id":        {From: "id"},
			"created_at":     {From: "created"},
			"opportunity_id": {From: "conv", Map: map[string]string{"0": "", "1": "yes"}},
		}}
	mustRun(t, f.runner(nil, spec), "leads")
	if n := f.count("SELECT count(*) FROM leads WHERE opportunity_id IS NULL"); n != 1 {
		t.Errorf("leads with NULL opportunity_id: %d, want 1 (l1's \"0\" maps to \"\")", n)
	}
	if n := f.count("SELECT count(*) FROM leads WHERE opportunity_id = ''"); n != 0 {
		t.Errorf("leads with empty opportunity_id: %d, want 0", n)
	}
}
