package server

import (
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestGaugesReadTheCatalog: every KPI gauge names a KPI of the catalog, its unit suffix is the
// catalog unit's (_ratio for ratios, _seconds for days), and its help text is the catalog's
// definition, so a gauge cannot define a KPI a second way.
func TestGaugesReadTheCatalog(t *testing.T) {
	for _, f := range kpiFamilies {
		if !strings.HasPrefix(f.name, "ltc_kpi_") || f.kpi == "" {
			if f.kpi == "" && f.help == "" {
				t.Errorf("%s: neither a catalog KPI nor a help text", f.name)
			}
			continue
		}
		k, ok := kpi.LookupKPI(f.kpi)
		if !ok {
			t.Errorf("%s: KPI %q is not in the catalog", f.name, f.kpi)
			continue
		}
		want := map[kpi.Unit]string{kpi.UnitRatio: "_ratio", kpi.UnitDays: "_seconds"}[k.Unit]
		if want == "" || !strings.HasSuffix(f.name, want) {
			t.Errorf("%s: unit %s wants the suffix %q", f.name, k.Unit, want)
		}
		if h := kpiHelp(f.kpi, f.stat, f.dim); !strings.Contains(h, k.Definition) || !strings.Contains(h, k.RangeOn) {
			t.Errorf("%s: help %q does not carry the catalog's definition and range", f.name, h)
		}
	}
}
