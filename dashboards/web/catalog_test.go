package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestDashboardsReadTheCatalog: every KPI a page shows names a catalog KPI (kpi: 'name'), no page
// declares a KPI's direction or label itself (the catalog's title, unit and direction are used,
// src/catalog.js), and the filters offered are catalog dimensions with the catalog's titles.
func TestDashboardsReadTheCatalog(t *testing.T) {
	files, err := filepath.Glob("src/pages/*.js")
	if err != nil || len(files) == 0 {
		t.Fatalf("no pages: %v", err)
	}
	ref := regexp.MustCompile(`kpi: '([a-z0-9_]+)'`)
	named := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range ref.FindAllStringSubmatch(src, -1) {
			named++
			if _, ok := kpi.LookupKPI(m[1]); !ok {
				t.Errorf("%s shows KPI %q, which is not in the catalog", f, m[1])
			}
		}
		if strings.Contains(src, "better: '") {
			t.Errorf("%s declares a KPI direction (better: …); name the catalog KPI instead (kpi: 'name')", f)
		}
	}
	if named < 20 {
		t.Errorf("only %d catalog KPIs named by the pages", named)
	}
	b, err := os.ReadFile("src/state.js")
	if err != nil {
		t.Fatal(err)
	}
	dims := regexp.MustCompile(`\{ key: '([a-z_]+)', dim: '([A-Z_]+)', label: '([^']+)' \}`).FindAllStringSubmatch(string(b), -1)
	if len(dims) == 0 {
		t.Fatal("no DIMS in state.js")
	}
	for _, m := range dims {
		found := false
		for _, d := range schema.BuiltinDimensions {
			if d.Name == m[1] {
				found = true
				if m[2] != strings.ToUpper(d.Name) || m[3] != d.Title {
					t.Errorf("state.js dimension %s: enum %s label %q, catalog %s %q", m[1], m[2], m[3], strings.ToUpper(d.Name), d.Title)
				}
			}
		}
		if !found {
			t.Errorf("state.js offers dimension %q, which is not in the catalog", m[1])
		}
	}
}
