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
	// The filters offered are the catalog's: state.js names built-ins by catalog name (FILTER_DIMS)
	// and takes every title, value and custom dimension from the catalog query.
	m := regexp.MustCompile(`export const FILTER_DIMS = \[([^\]]*)\]`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("no FILTER_DIMS in state.js")
	}
	names := regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(m[1], -1)
	if len(names) == 0 {
		t.Fatal("FILTER_DIMS names no dimension")
	}
	for _, n := range names {
		if !schema.IsDimension(n[1]) {
			t.Errorf("state.js offers dimension %q, which is not a built-in of the catalog", n[1])
		}
	}
	for _, d := range schema.BuiltinDimensions {
		if strings.Contains(string(b), "'"+d.Title+"'") || strings.Contains(string(b), "'"+strings.ToUpper(d.Name)+"'") {
			t.Errorf("state.js declares dimension %s's title or enum itself; the catalog gives them", d.Name)
		}
	}
	c, err := os.ReadFile("src/catalog.js")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`dimensions \{[^}]*\bname\b[^}]*\btitle\b[^}]*\bcustom\b[^}]*\bvalues\b`).Match(c) {
		t.Error("the catalog query does not ask each dimension's name, title, custom flag and values")
	}
}
