package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// kpiFamily is one exported KPI family and its descriptors. A family of a catalog KPI is exported
// per window (label window) with a sample-size family beside it; a family by business unit is split
// by Prometheus convention into two names with fixed label sets: the total (name{window}) and the
// per-unit series (unitName{business_unit, window}).
type kpiFamily struct {
	name   string
	total  *prometheus.Desc // nil when the family has no unlabelled (but for window) total
	series *prometheus.Desc // nil when the family has only a total
	// totalN and seriesN are the sample-size descriptors beside total and series (nil without n).
	totalN, seriesN *prometheus.Desc
}

// Label dimensions of the KPI families.
const (
	byNone = iota
	byBusinessUnit
	byStage
	byCycleStage
	byGate
	byMetric
)

// kpiFamilies lists every family the collector exports: name, label dimension and what it
// measures: a KPI of the catalog (kpi.Catalog, with the statistic for cycle times), whose title,
// definition, n and range make up the help text, or a help text of its own for bookkeeping
// families. The window and refresh note are appended. sharedN marks a family whose sample size
// is exported by the one before it (the p90 beside the p50 of the same cycle).
var kpiFamilies = []struct {
	name    string
	dim     int
	kpi     string // catalog name; "" for bookkeeping families
	stat    string // "median" or "90th percentile" for cycle-time families
	help    string // bookkeeping families only
	sharedN bool
}{
	// KPIs over each window.
	{name: "ltc_kpi_lead_conversion_ratio", dim: byBusinessUnit, kpi: "lead_conversion"},
	{name: "ltc_kpi_win_rate_ratio", dim: byBusinessUnit, kpi: "win_rate"},
	{name: "ltc_kpi_stage_conversion_ratio", dim: byStage, kpi: "stage_conversion"},
	{name: "ltc_kpi_stage_reach_ratio", dim: byStage, kpi: "stage_reach"},
	{name: "ltc_kpi_sales_cycle_p50_seconds", dim: byBusinessUnit, kpi: "sales_cycle", stat: "median"},
	{name: "ltc_kpi_sales_cycle_p90_seconds", dim: byBusinessUnit, kpi: "sales_cycle", stat: "90th percentile", sharedN: true},
	{name: "ltc_kpi_delivery_cycle_p50_seconds", dim: byBusinessUnit, kpi: "delivery_cycle", stat: "median"},
	{name: "ltc_kpi_delivery_cycle_p90_seconds", dim: byBusinessUnit, kpi: "delivery_cycle", stat: "90th percentile", sharedN: true},
	{name: "ltc_kpi_cash_cycle_p50_seconds", dim: byBusinessUnit, kpi: "cash_cycle", stat: "median"},
	{name: "ltc_kpi_cash_cycle_p90_seconds", dim: byBusinessUnit, kpi: "cash_cycle", stat: "90th percentile", sharedN: true},
	{name: "ltc_kpi_stage_time_share_ratio", dim: byCycleStage, kpi: "stage_time_share"},
	{name: "ltc_kpi_bottleneck_stage", dim: byCycleStage, help: "1 for the stage with the largest share of the cycle's time (the cycle's bottleneck), 0 for the other stages, over the cases that completed the cycle in the window (DESIGN §5.4); cycle is the measured cycle (sales unless the model does not mark won)."},
	{name: "ltc_kpi_adoption_ratio", dim: byBusinessUnit, kpi: "adoption"},
	{name: "ltc_kpi_iron_triangle_coverage_ratio", dim: byBusinessUnit, kpi: "iron_triangle_coverage"},
	{name: "ltc_kpi_compliance_ratio", dim: byBusinessUnit, kpi: "compliance"},
	{name: "ltc_kpi_gate_compliance_ratio", dim: byGate, kpi: "gate_compliance"},
	{name: "ltc_kpi_promise_kept_ratio", dim: byBusinessUnit, kpi: "promise_kept"},
	{name: "ltc_kpi_dso_seconds", dim: byBusinessUnit, kpi: "dso"},
	{name: "ltc_kpi_overdue_share_ratio", dim: byBusinessUnit, kpi: "overdue_share"},
	// Not windowed: freshness and bookkeeping of the snapshot (see windowed).
	{name: "ltc_data_updated_timestamp_seconds", dim: byNone, help: "Unix time of the last ETL commit that changed the warehouse (data version bump)."},
	{name: "ltc_data_newest_event_timestamp_seconds", dim: byNone, help: "Unix time of the newest stage event in the warehouse (not after the refresh time): how fresh the data is."},
	{name: "ltc_kpi_window_seconds", dim: byNone, help: "Length of each trailing window the ltc_kpi_* gauges cover (label window), in seconds."},
	{name: "ltc_kpi_data_version", dim: byNone, help: "Warehouse data version the ltc_kpi_* gauges were computed at."},
	{name: "ltc_kpi_label_values_dropped", dim: byMetric, help: "Label values (business units, stages, gates) left out of the named gauge family at the last refresh because of the cap kpi.metrics_max_labels (the most of either window); the totals still include them."},
	{name: "ltc_kpi_family_refresh_success", dim: byMetric, help: "1 if the family's queries succeeded at the last refresh, 0 if they failed: its gauges then keep the values of the last refresh that computed them (label family: the KPI query group, e.g. lead_conversion, cycle_times)."},
	{name: "ltc_kpi_family_refresh_duration_seconds", dim: byMetric, help: "Wall time of the family's queries (every window) at the last refresh, in seconds (label family as in ltc_kpi_family_refresh_success)."},
}

// unitName is the name of the per-business-unit family of a KPI family: ltc_kpi_unit_<kpi>.
func unitName(name string) string { return "ltc_kpi_unit_" + strings.TrimPrefix(name, "ltc_kpi_") }

// sampleSizeName is the name of the sample-size family beside a KPI family: the unit suffix and the
// statistic dropped, _sample_size appended (ltc_kpi_sales_cycle_p50_seconds → ltc_kpi_sales_cycle_sample_size).
func sampleSizeName(name string) string {
	for _, suf := range []string{"_ratio", "_seconds", "_p50", "_p90"} {
		name = strings.TrimSuffix(name, suf)
	}
	return name + "_sample_size"
}

// kpiHelp is a catalog KPI's help text: title, definition, n and the timestamp placing it in the
// window, in the metric's unit (days are exported in seconds).
func kpiHelp(name, stat string, dim int) string {
	k := catalogKPI(name)
	title := k.Title
	if stat != "" {
		title = strings.ToUpper(stat[:1]) + stat[1:] + " of the " + strings.ToLower(k.Title[:1]) + k.Title[1:]
	}
	unit := ""
	switch k.Unit {
	case kpi.UnitDays:
		unit = ", in seconds"
	case kpi.UnitRatio:
		unit = ", a ratio 0..1"
	}
	help := fmt.Sprintf("%s%s: %s; over the %s whose %s is in the window (DESIGN §%s).", title, unit, k.Definition, k.Over, k.RangeOn, k.Section)
	if dim == byBusinessUnit {
		help += " All business units; the per-unit series are ltc_kpi_unit_*."
	}
	return help
}

// sampleSizeHelp is the help text of a KPI's sample-size family: what n counts, from the catalog.
func sampleSizeHelp(name string, dim int) string {
	k := catalogKPI(name)
	help := fmt.Sprintf("Sample size n of the %s gauges: the number of %s whose %s is in the window. Below a minimum n (DESIGN §5: %d) the value is too noisy to alert on.",
		strings.ToLower(k.Title[:1])+k.Title[1:], k.Over, k.RangeOn, kpi.MinSample)
	if dim == byBusinessUnit {
		help += " All business units; the per-unit series are ltc_kpi_unit_*."
	}
	return help
}

func catalogKPI(name string) kpi.KPI {
	k, ok := kpi.LookupKPI(name)
	if !ok {
		panic(fmt.Sprintf("server: gauge of unknown KPI %q", name)) // a build defect, caught by tests
	}
	return k
}

// newKPIFamilies builds the descriptors of every family in kpiFamilies; note is appended to the
// help of windowed families, refresh to the others.
func newKPIFamilies(note, refresh string) map[string]*kpiFamily {
	descs := map[string]*kpiFamily{}
	for _, f := range kpiFamilies {
		help := f.help
		if f.kpi != "" {
			help = kpiHelp(f.kpi, f.stat, f.dim)
		}
		if windowed(f.name) {
			help += note
		} else {
			help += refresh
		}
		nHelp := ""
		if f.kpi != "" && !f.sharedN {
			nHelp = sampleSizeHelp(f.kpi, f.dim) + note
		}
		fam := &kpiFamily{name: f.name}
		newN := func(name string, labels ...string) *prometheus.Desc {
			if nHelp == "" {
				return nil
			}
			return prometheus.NewDesc(sampleSizeName(name), nHelp, labels, nil)
		}
		switch f.dim {
		case byNone:
			var labels []string
			if f.name == "ltc_kpi_window_seconds" {
				labels = []string{"window"}
			}
			fam.total = prometheus.NewDesc(f.name, help, labels, nil)
		case byBusinessUnit:
			fam.total = prometheus.NewDesc(f.name, help, []string{"window"}, nil)
			fam.totalN = newN(f.name, "window")
			unitHelp := strings.Replace(help, "All business units; the per-unit series are ltc_kpi_unit_*.",
				"Per business unit; the total is "+f.name+".", 1)
			fam.series = prometheus.NewDesc(unitName(f.name), unitHelp, []string{"business_unit", "window"}, nil)
			if nHelp != "" {
				fam.seriesN = prometheus.NewDesc(sampleSizeName(unitName(f.name)),
					strings.Replace(nHelp, "All business units; the per-unit series are ltc_kpi_unit_*.", "Per business unit.", 1),
					[]string{"business_unit", "window"}, nil)
			}
		case byStage:
			fam.series = prometheus.NewDesc(f.name, help, []string{"stage", "window"}, nil)
			fam.seriesN = newN(f.name, "stage", "window")
		case byCycleStage:
			fam.series = prometheus.NewDesc(f.name, help, []string{"cycle", "stage", "window"}, nil)
			fam.seriesN = newN(f.name, "cycle", "stage", "window")
		case byGate:
			fam.series = prometheus.NewDesc(f.name, help, []string{"gate", "window"}, nil)
			fam.seriesN = newN(f.name, "gate", "window")
		case byMetric:
			label := "metric"
			if strings.HasPrefix(f.name, "ltc_kpi_family_") {
				label = "family"
			}
			fam.series = prometheus.NewDesc(f.name, help, []string{label}, nil)
		}
		descs[f.name] = fam
	}
	return descs
}

// windowed reports whether a family measures a KPI window (the others describe freshness and the snapshot).
func windowed(name string) bool {
	switch name {
	case "ltc_data_updated_timestamp_seconds", "ltc_data_newest_event_timestamp_seconds", "ltc_kpi_window_seconds",
		"ltc_kpi_data_version", "ltc_kpi_label_values_dropped", "ltc_kpi_family_refresh_success",
		"ltc_kpi_family_refresh_duration_seconds":
		return false
	}
	return true
}

// durationText renders a period for help text: "1m", "2h", else a Go duration.
func durationText(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// windowLabel is the window label value of a window: whole days as "7d", "28d", else a Go duration.
func windowLabel(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
