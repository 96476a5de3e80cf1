package server

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// kpiStep is one group of KPI queries (one engine call, e.g. lead_conversion or cycle_times) and the
// gauges it yields: the unit of refresh health. A step that fails keeps its gauges of the last
// refresh that computed them and is flagged in ltc_kpi_family_refresh_success; the others go on.
type kpiStep struct {
	family string
	// run computes the step's gauges over one window (windowed steps) or once (the others, w zero).
	run      func(ctx context.Context, b *snapBuilder, w kpiWindow) error
	windowed bool
}

// kpiWindow is one trailing window of a refresh: its label value and range.
type kpiWindow struct {
	label    string
	from, to time.Time
}

func (w kpiWindow) scope(groupBy ...string) kpi.Scope {
	return kpi.Scope{From: w.from, To: w.to, GroupBy: groupBy}
}

// refreshState is what every step of one refresh shares.
type refreshState struct {
	to      time.Time
	version int64
	windows []kpiWindow
}

// snapBuilder accumulates the const metrics of one step of a refresh.
type snapBuilder struct {
	m       *KPIMetrics
	out     []prometheus.Metric
	dropped map[string]int
}

func (b *snapBuilder) total(name string, v float64, labels ...string) {
	b.out = append(b.out, prometheus.MustNewConstMetric(b.m.descs[name].total, prometheus.GaugeValue, v, labels...))
}

func (b *snapBuilder) series(name string, v float64, labels ...string) {
	b.out = append(b.out, prometheus.MustNewConstMetric(b.m.descs[name].series, prometheus.GaugeValue, v, labels...))
}

// value emits a KPI value of a family without business units and, unless the family shares it,
// its sample size, both with labels (the window last).
func (b *snapBuilder) value(name string, v kpi.Value, scale float64, labels ...string) {
	f := b.m.descs[name]
	b.out = append(b.out, prometheus.MustNewConstMetric(f.series, prometheus.GaugeValue, v.Value*scale, labels...))
	if f.seriesN != nil {
		b.out = append(b.out, prometheus.MustNewConstMetric(f.seriesN, prometheus.GaugeValue, float64(v.N), labels...))
	}
}

// drop records that n label values of a family were left out in a window (the most of any window counts).
func (b *snapBuilder) drop(name string, n int) {
	b.dropped[name] = max(b.dropped[name], n)
}

// capped reports whether the i-th label value (0-based) of a family fits under the cap, counting it otherwise.
func (b *snapBuilder) capped(name string, i, total int) bool {
	if i < b.m.opts.MaxLabelValues {
		return true
	}
	b.drop(name, total-b.m.opts.MaxLabelValues)
	return false
}

// kpiGroup is one business unit's value of a KPI.
type kpiGroup struct {
	unit string
	v    kpi.Value
}

// byUnit emits a KPI family by business unit over window w: the total (with its n) and, within the
// cap, the units with the most observations (N) in the per-unit family. Values over nothing (N = 0)
// are undefined and not emitted. scale converts the engine's unit (e.g. days to seconds).
func byUnit[T any](b *snapBuilder, name string, w kpiWindow, bd *kpi.Breakdown[T], get func(T) kpi.Value, scale float64) {
	f := b.m.descs[name]
	emit := func(d, dn *prometheus.Desc, v kpi.Value, labels ...string) {
		b.out = append(b.out, prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v.Value*scale, labels...))
		if dn != nil {
			b.out = append(b.out, prometheus.MustNewConstMetric(dn, prometheus.GaugeValue, float64(v.N), labels...))
		}
	}
	if v := get(bd.Total); v.N > 0 {
		emit(f.total, f.totalN, v, w.label)
	}
	gs := make([]kpiGroup, 0, len(bd.Groups))
	for _, g := range bd.Groups {
		if v := get(g.Result); v.N > 0 {
			u := g.Key["business_unit"]
			if u == "" {
				u = NoBusinessUnit
			}
			gs = append(gs, kpiGroup{u, v})
		}
	}
	slices.SortFunc(gs, func(a, c kpiGroup) int {
		return cmp.Or(cmp.Compare(c.v.N, a.v.N), cmp.Compare(a.unit, c.unit))
	})
	if limit := b.m.opts.MaxLabelValues; len(gs) > limit {
		b.drop(unitName(name), len(gs)-limit)
		gs = gs[:limit]
	}
	for _, g := range gs {
		emit(f.series, f.seriesN, g.v, g.unit, w.label)
	}
}

func same(v kpi.Value) kpi.Value { return v }

const secondsPerDay = 86400

// kpiSteps lists the refresh's steps in export order.
func (m *KPIMetrics) kpiSteps(st *refreshState) []kpiStep {
	e := m.opts.Engine
	return []kpiStep{
		{family: "lead_conversion", windowed: true, run: func(ctx context.Context, b *snapBuilder, w kpiWindow) error {
			conv, err := e.LeadConversion(ctx, w.scope("business_unit"))
			if err != nil {
				return err
			}
			byUnit(b, "ltc_kpi_lead_conversion_ratio", w, conv, same, 1)
			return nil
		}},
		{family: "win_rate", windowed: true, run: func(ctx context.Context, b *snapBuilder, w kpiWindow) error {
			win, err := e.WinRate(ctx, w.scope("business_unit"))
			if err != nil {
				return err
			}
			byUnit(b, "ltc_kpi_win_rate_ratio", w, win, same, 1)
			return nil
		}},
		{family: "funnel", windowed: true, run: m.funnelGauges},
		{family: "cycle_times", windowed: true, run: m.cycleGauges},
		{family: "value_stream", windowed: true, run: m.valueStreamGauges},
		{family: "adoption", windowed: true, run: func(ctx context.Context, b *snapBuilder, w kpiWindow) error {
			ad, err := e.Adoption(ctx, w.scope("business_unit"))
			if err != nil {
				return err
			}
			byUnit(b, "ltc_kpi_adoption_ratio", w, ad, func(a kpi.Adoption) kpi.Value { return a.Rate }, 1)
			if e.IronTriangleConfigured() == nil {
				byUnit(b, "ltc_kpi_iron_triangle_coverage_ratio", w, ad, func(a kpi.Adoption) kpi.Value { return a.IronTriangle }, 1)
			}
			return nil
		}},
		{family: "compliance", windowed: true, run: m.complianceGauges},
		{family: "cash", windowed: true, run: func(ctx context.Context, b *snapBuilder, w kpiWindow) error {
			cash, err := e.Cash(ctx, w.scope("business_unit"))
			if err != nil {
				return err
			}
			byUnit(b, "ltc_kpi_dso_seconds", w, cash, func(c kpi.Cash) kpi.Value { return c.DSO }, secondsPerDay)
			byUnit(b, "ltc_kpi_overdue_share_ratio", w, cash, func(c kpi.Cash) kpi.Value { return c.OverdueShare }, 1)
			return nil
		}},
		{family: "initiatives", run: func(ctx context.Context, b *snapBuilder, _ kpiWindow) error {
			return m.initiativeGauges(ctx, b, st.to, st.version)
		}},
		{family: "freshness", run: func(ctx context.Context, b *snapBuilder, _ kpiWindow) error {
			return m.freshnessGauges(ctx, b, st)
		}},
	}
}

func (m *KPIMetrics) funnelGauges(ctx context.Context, b *snapBuilder, w kpiWindow) error {
	funnel, err := m.opts.Engine.Funnel(ctx, w.scope(), nil)
	if err != nil {
		return err
	}
	stages := funnel.Total.Stages
	for i, st := range stages {
		if st.FromTop.N > 0 && b.capped("ltc_kpi_stage_reach_ratio", i, len(stages)) {
			b.value("ltc_kpi_stage_reach_ratio", st.FromTop, 1, st.Stage, w.label)
		}
		if i > 0 && st.FromPrevious.N > 0 && b.capped("ltc_kpi_stage_conversion_ratio", i-1, len(stages)-1) {
			b.value("ltc_kpi_stage_conversion_ratio", st.FromPrevious, 1, st.Stage, w.label)
		}
	}
	return nil
}

func (m *KPIMetrics) cycleGauges(ctx context.Context, b *snapBuilder, w kpiWindow) error {
	e := m.opts.Engine
	cyc, err := e.CycleTimes(ctx, w.scope("business_unit"))
	if err != nil {
		return err
	}
	for _, c := range []struct {
		name  string
		cycle kpi.Cycle
		get   func(kpi.CycleTimes) kpi.Value
	}{
		{"ltc_kpi_sales_cycle_p50_seconds", kpi.CycleSales, func(c kpi.CycleTimes) kpi.Value { return c.Sales.P50 }},
		{"ltc_kpi_sales_cycle_p90_seconds", kpi.CycleSales, func(c kpi.CycleTimes) kpi.Value { return c.Sales.P90 }},
		{"ltc_kpi_delivery_cycle_p50_seconds", kpi.CycleDelivery, func(c kpi.CycleTimes) kpi.Value { return c.Delivery.P50 }},
		{"ltc_kpi_delivery_cycle_p90_seconds", kpi.CycleDelivery, func(c kpi.CycleTimes) kpi.Value { return c.Delivery.P90 }},
		{"ltc_kpi_cash_cycle_p50_seconds", kpi.CycleCash, func(c kpi.CycleTimes) kpi.Value { return c.Cash.P50 }},
		{"ltc_kpi_cash_cycle_p90_seconds", kpi.CycleCash, func(c kpi.CycleTimes) kpi.Value { return c.Cash.P90 }},
	} {
		if e.CycleConfigured(c.cycle) == nil { // a cycle the model cannot measure has no gauge, not a 0
			byUnit(b, c.name, w, cyc, c.get, secondsPerDay)
		}
	}
	return nil
}

func (m *KPIMetrics) valueStreamGauges(ctx context.Context, b *snapBuilder, w kpiWindow) error {
	e := m.opts.Engine
	cycle, err := e.DefaultCycle()
	if err != nil {
		return err
	}
	vs, err := e.ValueStreamOf(ctx, w.scope(), cycle)
	if err != nil {
		return err
	}
	if vs.Total.Cases.N == 0 {
		return nil
	}
	stages := vs.Total.Stages
	for i, st := range stages {
		if !b.capped("ltc_kpi_stage_time_share_ratio", i, len(stages)) {
			b.drop("ltc_kpi_bottleneck_stage", len(stages)-b.m.opts.MaxLabelValues)
			continue
		}
		share := st.Share
		share.N = vs.Total.Cases.N // the share is over the cases that completed the cycle
		b.value("ltc_kpi_stage_time_share_ratio", share, 1, string(cycle), st.Stage, w.label)
		bottleneck := 0.0
		if st.Stage == vs.Total.Bottleneck {
			bottleneck = 1
		}
		b.series("ltc_kpi_bottleneck_stage", bottleneck, string(cycle), st.Stage, w.label)
	}
	return nil
}

func (m *KPIMetrics) complianceGauges(ctx context.Context, b *snapBuilder, w kpiWindow) error {
	co, err := m.opts.Engine.Compliance(ctx, w.scope("business_unit"))
	if err != nil {
		return err
	}
	byUnit(b, "ltc_kpi_compliance_ratio", w, co, func(c kpi.Compliance) kpi.Value { return c.Rate }, 1)
	byUnit(b, "ltc_kpi_promise_kept_ratio", w, co, func(c kpi.Compliance) kpi.Value { return c.PromiseKept }, 1)
	gates := co.Total.Gates
	for i, g := range gates {
		if g.Rate.N > 0 && b.capped("ltc_kpi_gate_compliance_ratio", i, len(gates)) {
			b.value("ltc_kpi_gate_compliance_ratio", g.Rate, 1, g.Gate, w.label)
		}
	}
	return nil
}

// newestEventQuery is the newest stage event not after the refresh time.
const newestEventQuery = "SELECT max(occurred_at) FROM stage_events WHERE occurred_at <= CAST(? AS TIMESTAMP)"

func (m *KPIMetrics) freshnessGauges(ctx context.Context, b *snapBuilder, st *refreshState) error {
	f, err := schema.ReadFreshness(ctx, m.opts.DB.Read)
	if err != nil {
		return err
	}
	if !f.UpdatedAt.IsZero() {
		b.total("ltc_data_updated_timestamp_seconds", unixSeconds(f.UpdatedAt.UnixNano()))
	}
	var newest sql.NullTime
	if err := m.opts.DB.Read.QueryRowContext(ctx, newestEventQuery, st.to).Scan(&newest); err != nil {
		return fmt.Errorf("newest event: %w", err)
	}
	if newest.Valid {
		b.total("ltc_data_newest_event_timestamp_seconds", unixSeconds(newest.Time.UnixNano()))
	}
	for _, w := range st.windows {
		b.total("ltc_kpi_window_seconds", w.to.Sub(w.from).Seconds(), w.label)
	}
	b.total("ltc_kpi_data_version", float64(st.version))
	return nil
}
