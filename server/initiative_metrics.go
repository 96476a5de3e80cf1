package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/initiative"
)

// Initiative gauges (DESIGN §5.8): per change initiative, the KPIs of its pilot units in the latest
// complete sprint and the progress toward its targets, so monitoring can follow a pilot sprint by
// sprint. They are part of the KPI snapshot: computed by KPIMetrics.Refresh (after each ETL commit
// and every Interval), never on a scrape. The label `initiative` is the initiative id, bounded by
// MaxLabelValues like every other label (the initiatives started last are kept); `kpi` takes the
// five initiative KPI names.

// initiativeFamilies lists the initiative gauge families: name, labels and help (the refresh note
// is appended).
var initiativeFamilies = []struct {
	name   string
	labels []string
	help   string
}{
	{"ltc_initiative_sprint", []string{"initiative"}, "Number of the initiative's latest complete sprint (1-based; 0 before the first sprint has ended): the sprint the other ltc_initiative_* gauges describe."},
	{"ltc_initiative_lead_conversion_ratio", []string{"initiative"}, "Lead conversion of the initiative's pilot units in its latest complete sprint: leads converted / leads created in the sprint (DESIGN §5.2, §5.8); absent when the sprint has no lead."},
	{"ltc_initiative_sales_cycle_p50_seconds", []string{"initiative"}, "Median sales cycle (first contract_signed - case start) in seconds of the initiative's pilot units, over the contracts signed in its latest complete sprint (DESIGN §5.3, §5.8); absent when none was signed."},
	{"ltc_initiative_adoption_ratio", []string{"initiative"}, "Process adoption rate of the initiative's pilot units over the cases started in its latest complete sprint (DESIGN §5.5, §5.8); absent when no case started."},
	{"ltc_initiative_target_progress", []string{"initiative", "kpi"}, "Progress of the initiative's pilot units toward the target on a KPI in the latest complete sprint: (sprint value - baseline) / (target - baseline); 1 = target reached, negative = moving away (DESIGN §5.8). Only KPIs with a target; absent when undefined, also for a target on the wrong side of the baseline."},
}

// initiativeGaugeKPIs are the KPIs exported per sprint, with their family and the engine's unit → gauge scale.
var initiativeGaugeKPIs = []struct {
	kpi    initiative.KPI
	family string
	scale  float64
}{
	{initiative.KPILeadConversion, "ltc_initiative_lead_conversion_ratio", 1},
	{initiative.KPISalesCycle, "ltc_initiative_sales_cycle_p50_seconds", secondsPerDay},
	{initiative.KPIAdoption, "ltc_initiative_adoption_ratio", 1},
}

// initiativeMemo keeps the last computed gauges of each initiative, keyed by what they depend on
// (data version, definition, sprint), so the minutely refresh recomputes an initiative only when its
// data, definition or latest complete sprint changed. Refreshes are serialised (KPIMetrics.mu).
type initiativeMemo struct {
	entries map[string]initiativeEntry
}

type initiativeEntry struct {
	key    string
	values []initiativeValue
}

type initiativeValue struct {
	family string
	value  float64
	labels []string
}

// addInitiativeFamilies registers the descriptors of the initiative families with m.
func (m *KPIMetrics) addInitiativeFamilies() {
	note := " Refreshed after each ETL commit and every " + durationText(m.opts.Interval) + "."
	for _, f := range initiativeFamilies {
		m.descs[f.name] = &kpiFamily{name: f.name, series: prometheus.NewDesc(f.name, f.help+note, f.labels, nil)}
	}
}

// initiatives returns the initiative service over the warehouse and engine the gauges read (it
// is stateless, so one per refresh costs nothing).
func (m *KPIMetrics) initiatives() *initiative.Service {
	return initiative.New(m.opts.DB, m.opts.Engine)
}

// initiativeGauges adds the initiative gauges to the snapshot being built, for the data version
// version as of now. An initiative whose stored definition no longer validates is logged and left
// out; other errors fail the refresh.
func (m *KPIMetrics) initiativeGauges(ctx context.Context, b *snapBuilder, now time.Time, version int64) error {
	ins, err := m.initiatives().List(ctx)
	if err != nil {
		return err
	}
	// Within the cap, the initiatives that started last (the running pilots), then by id.
	slices.SortFunc(ins, func(a, c initiative.Initiative) int {
		return cmp.Or(c.Start.Compare(a.Start), cmp.Compare(a.ID, c.ID))
	})
	if limit := m.opts.MaxLabelValues; len(ins) > limit {
		for _, f := range initiativeFamilies {
			b.dropped[f.name] += len(ins) - limit
		}
		ins = ins[:limit]
	}
	next := map[string]initiativeEntry{}
	for _, in := range ins {
		latest := latestCompleteSprint(in, now)
		key := fmt.Sprintf("%d|%d|%+v", version, latest, in)
		e, ok := m.initMemo.entries[in.ID]
		if !ok || e.key != key {
			values, err := m.initiativeValues(ctx, in, latest)
			if errors.Is(err, initiative.ErrBadInitiative) {
				m.opts.Logger.Warn("initiative gauges: skipping an initiative whose definition does not validate", "initiative", in.ID, "err", err)
				continue
			}
			if err != nil {
				return fmt.Errorf("initiative %q: %w", in.ID, err)
			}
			e = initiativeEntry{key: key, values: values}
		}
		next[in.ID] = e
		for _, v := range e.values {
			b.series(v.family, v.value, v.labels...)
		}
	}
	m.initMemo.entries = next
	for _, f := range initiativeFamilies {
		b.series("ltc_kpi_label_values_dropped", float64(b.dropped[f.name]), f.name)
	}
	return nil
}

// latestCompleteSprint is the number of in's last sprint that ended at or before now (0 for none).
func latestCompleteSprint(in initiative.Initiative, now time.Time) int {
	if in.SprintDays <= 0 || now.Before(in.Start) {
		return 0
	}
	return int(now.Sub(in.Start) / (time.Duration(in.SprintDays) * 24 * time.Hour))
}

// initiativeValues computes the gauges of one initiative for its sprint number latest. It measures
// only that sprint: the engine's pilot report of a copy of the initiative that starts with the
// sprint (no controls, no waves), whose first sprint is the one wanted and whose baseline is the
// initiative's.
func (m *KPIMetrics) initiativeValues(ctx context.Context, in initiative.Initiative, latest int) ([]initiativeValue, error) {
	out := []initiativeValue{{family: "ltc_initiative_sprint", value: float64(latest), labels: []string{in.ID}}}
	if latest == 0 {
		return out, nil
	}
	sprint := time.Duration(in.SprintDays) * 24 * time.Hour
	one := in
	one.Start = in.Start.Add(time.Duration(latest-1) * sprint)
	one.ControlUnits, one.Waves = nil, nil
	ks := make([]initiative.KPI, 0, len(initiativeGaugeKPIs)+len(in.Targets))
	family := map[initiative.KPI]int{}
	for i, g := range initiativeGaugeKPIs {
		ks = append(ks, g.kpi)
		family[g.kpi] = i
	}
	for _, t := range in.Targets {
		if !slices.Contains(ks, t.KPI) {
			ks = append(ks, t.KPI)
		}
	}
	for _, k := range ks {
		r, err := m.initiatives().PilotVsBaseline(ctx, one, k)
		if err != nil {
			return nil, err
		}
		if len(r.Sprints) == 0 || !r.Sprints[0].Complete {
			continue // the engine's clock is behind ours: nothing complete to report yet
		}
		s := r.Sprints[0].Pilot
		if !s.Defined {
			continue
		}
		if i, ok := family[k]; ok {
			out = append(out, initiativeValue{family: initiativeGaugeKPIs[i].family, value: s.Value * initiativeGaugeKPIs[i].scale, labels: []string{in.ID}})
		}
		// The engine's own progress (undefined for a target on the wrong side of the baseline).
		if tp := r.Target; tp != nil && tp.LatestProgress != nil {
			out = append(out, initiativeValue{family: "ltc_initiative_target_progress", value: *tp.LatestProgress,
				labels: []string{in.ID, string(k)}})
		}
	}
	return out, nil
}
