package server

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Defaults of KPIMetricsOptions.
const (
	DefaultKPIWindow          = 28 * 24 * time.Hour
	DefaultKPIRefreshInterval = time.Minute
	DefaultKPIRefreshTimeout  = 2 * time.Minute
	DefaultKPIMaxLabelValues  = 50
)

// NoBusinessUnit is the business_unit label value of cases without a business unit (an empty label
// value would be indistinguishable from the total, which carries no business_unit label).
const NoBusinessUnit = "none"

// KPIMetricsOptions configures NewKPIMetrics; cmd/ltc builds it.
type KPIMetricsOptions struct {
	// Engine computes the KPIs; DB gives the data version and freshness.
	Engine *kpi.Engine
	DB     *schema.DB
	// Window is the trailing window the gauges cover, ending at each refresh (default 28 days).
	Window time.Duration
	// Interval is the period of the scheduled refresh in Run (default one minute).
	Interval time.Duration
	// Timeout bounds one refresh (default two minutes).
	Timeout time.Duration
	// MaxLabelValues caps the label values of each gauge family (default 50): business units beyond
	// it (those with the fewest cases) and stages or gates beyond it (in model order) are dropped,
	// not aggregated, and counted in ltc_kpi_label_values_dropped. Totals always cover everything.
	MaxLabelValues int
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives refresh failures; nil means slog.Default().
	Logger *slog.Logger
}

// KPIMetrics exports the headline KPIs of the engine as Prometheus gauges over a trailing window.
// The values are computed by Refresh (after each ETL commit and on a schedule, see Run) into an
// immutable snapshot that a scrape only reads: a scrape never queries the warehouse. A failed
// refresh keeps the previous snapshot and is counted. Its methods are safe for concurrent use.
type KPIMetrics struct {
	opts    KPIMetricsOptions
	snap    atomic.Pointer[kpiSnapshot]
	mu      sync.Mutex // serialises refreshes
	trigger chan struct{}
	descs   map[string]*kpiFamily
	// initMemo caches the initiative gauges between refreshes (initiative_metrics.go).
	initMemo initiativeMemo

	refreshes   prometheus.Counter
	failures    prometheus.Counter
	duration    prometheus.Histogram
	lastRefresh prometheus.Gauge
}

// kpiSnapshot is the result of one refresh: ready-made const metrics plus what they were computed over.
type kpiSnapshot struct {
	metrics     []prometheus.Metric
	from, to    time.Time
	dataVersion int64
}

// kpiFamily is one gauge family. A family labelled by business unit has two descriptors of the
// same name and help: the total without labels and the per-unit series with business_unit.
type kpiFamily struct {
	name   string
	total  *prometheus.Desc // nil when the family has no unlabelled total
	series *prometheus.Desc // nil when the family has only a total
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
// families. The window and refresh note are appended.
var kpiFamilies = []struct {
	name string
	dim  int
	kpi  string // catalog name; "" for bookkeeping families
	stat string // "median" or "90th percentile" for cycle-time families
	help string // bookkeeping families only
}{
	// KPIs over the window.
	{name: "ltc_kpi_lead_conversion_ratio", dim: byBusinessUnit, kpi: "lead_conversion"},
	{name: "ltc_kpi_win_rate_ratio", dim: byBusinessUnit, kpi: "win_rate"},
	{name: "ltc_kpi_stage_conversion_ratio", dim: byStage, kpi: "stage_conversion"},
	{name: "ltc_kpi_stage_reach_ratio", dim: byStage, kpi: "stage_reach"},
	{name: "ltc_kpi_sales_cycle_p50_seconds", dim: byBusinessUnit, kpi: "sales_cycle", stat: "median"},
	{name: "ltc_kpi_sales_cycle_p90_seconds", dim: byBusinessUnit, kpi: "sales_cycle", stat: "90th percentile"},
	{name: "ltc_kpi_delivery_cycle_p50_seconds", dim: byBusinessUnit, kpi: "delivery_cycle", stat: "median"},
	{name: "ltc_kpi_delivery_cycle_p90_seconds", dim: byBusinessUnit, kpi: "delivery_cycle", stat: "90th percentile"},
	{name: "ltc_kpi_cash_cycle_p50_seconds", dim: byBusinessUnit, kpi: "cash_cycle", stat: "median"},
	{name: "ltc_kpi_cash_cycle_p90_seconds", dim: byBusinessUnit, kpi: "cash_cycle", stat: "90th percentile"},
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
	{name: "ltc_kpi_window_seconds", dim: byNone, help: "Length of the trailing window the ltc_kpi_* gauges cover, in seconds."},
	{name: "ltc_kpi_data_version", dim: byNone, help: "Warehouse data version the ltc_kpi_* gauges were computed at."},
	{name: "ltc_kpi_label_values_dropped", dim: byMetric, help: "Label values (business units, stages, gates) left out of the named gauge family at the last refresh because of the cap kpi.metrics_max_labels; the totals still include them."},
}

// kpiHelp is a catalog KPI's help text: title, definition, n and the timestamp placing it in the
// window, in the metric's unit (days are exported in seconds).
func kpiHelp(name, stat string, dim int) string {
	k, ok := kpi.LookupKPI(name)
	if !ok {
		panic(fmt.Sprintf("server: gauge of unknown KPI %q", name)) // a build defect, caught by tests
	}
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
		help += " The series without business_unit is the total."
	}
	return help
}

// NewKPIMetrics creates the KPI collector and its refresh metrics and registers them with reg.
// The gauges are empty until the first Refresh.
func NewKPIMetrics(reg prometheus.Registerer, opts KPIMetricsOptions) *KPIMetrics {
	if opts.Window <= 0 {
		opts.Window = DefaultKPIWindow
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultKPIRefreshInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultKPIRefreshTimeout
	}
	if opts.MaxLabelValues <= 0 {
		opts.MaxLabelValues = DefaultKPIMaxLabelValues
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	note := fmt.Sprintf(" Window: the trailing %s ending at the last refresh; refreshed after each ETL commit and every %s.",
		windowText(opts.Window), durationText(opts.Interval))
	m := &KPIMetrics{opts: opts, trigger: make(chan struct{}, 1), descs: map[string]*kpiFamily{},
		refreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ltc_kpi_refreshes_total",
			Help: "KPI gauge refreshes attempted (after each ETL commit and on the schedule), successful or not.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ltc_kpi_refresh_failures_total",
			Help: "KPI gauge refreshes that failed; the gauges then keep the values of the last successful refresh.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ltc_kpi_refresh_duration_seconds",
			Help:    "Wall time of KPI gauge refreshes in seconds (every KPI query over the window).",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 8), // 10 ms … 2.7 min
		}),
		lastRefresh: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ltc_kpi_last_refresh_timestamp_seconds",
			Help: "Unix time of the last successful KPI gauge refresh (0 before the first).",
		}),
	}
	for _, f := range kpiFamilies {
		help := f.help
		if f.kpi != "" {
			help = kpiHelp(f.kpi, f.stat, f.dim)
		}
		if windowed(f.name) {
			help += note
		} else {
			help += " Refreshed after each ETL commit and every " + durationText(opts.Interval) + "."
		}
		fam := &kpiFamily{name: f.name}
		switch f.dim {
		case byNone:
			fam.total = prometheus.NewDesc(f.name, help, nil, nil)
		case byBusinessUnit:
			fam.total = prometheus.NewDesc(f.name, help, nil, nil)
			fam.series = prometheus.NewDesc(f.name, help, []string{"business_unit"}, nil)
		case byStage:
			fam.series = prometheus.NewDesc(f.name, help, []string{"stage"}, nil)
		case byCycleStage:
			fam.series = prometheus.NewDesc(f.name, help, []string{"cycle", "stage"}, nil)
		case byGate:
			fam.series = prometheus.NewDesc(f.name, help, []string{"gate"}, nil)
		case byMetric:
			fam.series = prometheus.NewDesc(f.name, help, []string{"metric"}, nil)
		}
		m.descs[f.name] = fam
	}
	m.addInitiativeFamilies()
	reg.MustRegister(m, m.refreshes, m.failures, m.duration, m.lastRefresh)
	return m
}

// windowed reports whether a family measures the KPI window (the others describe freshness and the snapshot).
func windowed(name string) bool {
	switch name {
	case "ltc_data_updated_timestamp_seconds", "ltc_data_newest_event_timestamp_seconds", "ltc_kpi_window_seconds",
		"ltc_kpi_data_version", "ltc_kpi_label_values_dropped":
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

// windowText renders a window for help text: whole days as "28-day window", else a Go duration.
func windowText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d-day window", d/(24*time.Hour))
	}
	return d.String() + " window"
}

// Describe sends nothing: the collector is unchecked, because a family labelled by business unit
// mixes an unlabelled total with per-unit series, and the label values change with the data.
func (m *KPIMetrics) Describe(chan<- *prometheus.Desc) {}

// Collect sends the metrics of the last successful refresh; it never queries the warehouse.
func (m *KPIMetrics) Collect(ch chan<- prometheus.Metric) {
	s := m.snap.Load()
	if s == nil {
		return
	}
	for _, mt := range s.metrics {
		ch <- mt
	}
}

// Window returns the range [from, to) of the current snapshot and its data version (zero values
// before the first successful refresh).
func (m *KPIMetrics) Window() (from, to time.Time, dataVersion int64) {
	if s := m.snap.Load(); s != nil {
		return s.from, s.to, s.dataVersion
	}
	return time.Time{}, time.Time{}, 0
}

// Trigger asks Run for a refresh without waiting; triggers that arrive while one is pending coalesce.
// cmd/ltc calls it after each committed ETL run.
func (m *KPIMetrics) Trigger() {
	select {
	case m.trigger <- struct{}{}:
	default:
	}
}

// Run refreshes once, then after every Trigger and every Interval, until ctx is done. Failures
// are counted and logged by Refresh; Run goes on.
func (m *KPIMetrics) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		m.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.trigger:
		}
	}
}

// Refresh recomputes every gauge over the window ending now and swaps the snapshot in. On failure
// the previous snapshot stays, ltc_kpi_refresh_failures_total is incremented (unless ctx itself was
// cancelled, i.e. shutdown) and the error is logged and returned.
func (m *KPIMetrics) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	s, err := m.compute(cctx)
	m.refreshes.Inc()
	m.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		err = fmt.Errorf("server.KPIMetrics.Refresh: %w", err)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		m.failures.Inc()
		m.opts.Logger.Warn("kpi metrics refresh failed; keeping the last values", "err", err,
			"duration_seconds", time.Since(start).Seconds())
		return err
	}
	m.snap.Store(s)
	m.lastRefresh.Set(unixSeconds(m.opts.Now().UnixNano()))
	return nil
}

// snapBuilder accumulates the const metrics of one refresh.
type snapBuilder struct {
	m       *KPIMetrics
	out     []prometheus.Metric
	dropped map[string]int
}

func (b *snapBuilder) total(name string, v float64) {
	b.out = append(b.out, prometheus.MustNewConstMetric(b.m.descs[name].total, prometheus.GaugeValue, v))
}

func (b *snapBuilder) series(name string, v float64, labels ...string) {
	b.out = append(b.out, prometheus.MustNewConstMetric(b.m.descs[name].series, prometheus.GaugeValue, v, labels...))
}

// kpiGroup is one business unit's value of a KPI.
type kpiGroup struct {
	unit string
	v    kpi.Value
}

// byUnit emits a KPI family labelled by business unit: the total and, within the cap, the units
// with the most observations (N). Values over nothing (N = 0) are undefined and not emitted.
// scale converts the engine's unit (e.g. days to seconds).
func byUnit[T any](b *snapBuilder, name string, bd *kpi.Breakdown[T], get func(T) kpi.Value, scale float64) {
	if v := get(bd.Total); v.N > 0 {
		b.total(name, v.Value*scale)
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
		b.dropped[name] += len(gs) - limit
		gs = gs[:limit]
	}
	for _, g := range gs {
		b.series(name, g.v.Value*scale, g.unit)
	}
}

// capped reports whether the i-th label value (0-based) of a family fits under the cap, counting it otherwise.
func (b *snapBuilder) capped(name string, i int) bool {
	if i < b.m.opts.MaxLabelValues {
		return true
	}
	b.dropped[name]++
	return false
}

const secondsPerDay = 86400

// compute runs every KPI query over [now - Window, now) and builds a snapshot.
func (m *KPIMetrics) compute(ctx context.Context) (*kpiSnapshot, error) {
	e := m.opts.Engine
	to := m.opts.Now().UTC().Truncate(time.Second)
	from := to.Add(-m.opts.Window)
	total := kpi.Scope{From: from, To: to}
	units := kpi.Scope{From: from, To: to, GroupBy: []string{"business_unit"}}
	version, err := schema.DataVersion(ctx, m.opts.DB.Read)
	if err != nil {
		return nil, err
	}
	b := &snapBuilder{m: m, dropped: map[string]int{}}

	conv, err := e.LeadConversion(ctx, units)
	if err != nil {
		return nil, err
	}
	byUnit(b, "ltc_kpi_lead_conversion_ratio", conv, func(v kpi.Value) kpi.Value { return v }, 1)
	win, err := e.WinRate(ctx, units)
	if err != nil {
		return nil, err
	}
	byUnit(b, "ltc_kpi_win_rate_ratio", win, func(v kpi.Value) kpi.Value { return v }, 1)

	funnel, err := e.Funnel(ctx, total, nil)
	if err != nil {
		return nil, err
	}
	for i, st := range funnel.Total.Stages {
		if st.FromTop.N > 0 && b.capped("ltc_kpi_stage_reach_ratio", i) {
			b.series("ltc_kpi_stage_reach_ratio", st.FromTop.Value, st.Stage)
		}
		if i > 0 && st.FromPrevious.N > 0 && b.capped("ltc_kpi_stage_conversion_ratio", i-1) {
			b.series("ltc_kpi_stage_conversion_ratio", st.FromPrevious.Value, st.Stage)
		}
	}

	cyc, err := e.CycleTimes(ctx, units)
	if err != nil {
		return nil, err
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
			byUnit(b, c.name, cyc, c.get, secondsPerDay)
		}
	}

	cycle, err := e.DefaultCycle()
	if err != nil {
		return nil, err
	}
	vs, err := e.ValueStreamOf(ctx, total, cycle)
	if err != nil {
		return nil, err
	}
	if vs.Total.Cases.N > 0 {
		for i, st := range vs.Total.Stages {
			if !b.capped("ltc_kpi_stage_time_share_ratio", i) {
				b.dropped["ltc_kpi_bottleneck_stage"]++
				continue
			}
			b.series("ltc_kpi_stage_time_share_ratio", st.Share.Value, string(cycle), st.Stage)
			bottleneck := 0.0
			if st.Stage == vs.Total.Bottleneck {
				bottleneck = 1
			}
			b.series("ltc_kpi_bottleneck_stage", bottleneck, string(cycle), st.Stage)
		}
	}

	ad, err := e.Adoption(ctx, units)
	if err != nil {
		return nil, err
	}
	byUnit(b, "ltc_kpi_adoption_ratio", ad, func(a kpi.Adoption) kpi.Value { return a.Rate }, 1)
	if e.IronTriangleConfigured() == nil {
		byUnit(b, "ltc_kpi_iron_triangle_coverage_ratio", ad, func(a kpi.Adoption) kpi.Value { return a.IronTriangle }, 1)
	}

	co, err := e.Compliance(ctx, units)
	if err != nil {
		return nil, err
	}
	byUnit(b, "ltc_kpi_compliance_ratio", co, func(c kpi.Compliance) kpi.Value { return c.Rate }, 1)
	byUnit(b, "ltc_kpi_promise_kept_ratio", co, func(c kpi.Compliance) kpi.Value { return c.PromiseKept }, 1)
	for i, g := range co.Total.Gates {
		if g.Rate.N > 0 && b.capped("ltc_kpi_gate_compliance_ratio", i) {
			b.series("ltc_kpi_gate_compliance_ratio", g.Rate.Value, g.Gate)
		}
	}

	cash, err := e.Cash(ctx, units)
	if err != nil {
		return nil, err
	}
	byUnit(b, "ltc_kpi_dso_seconds", cash, func(c kpi.Cash) kpi.Value { return c.DSO }, secondsPerDay)
	byUnit(b, "ltc_kpi_overdue_share_ratio", cash, func(c kpi.Cash) kpi.Value { return c.OverdueShare }, 1)

	if err := m.initiativeGauges(ctx, b, to, version); err != nil {
		return nil, err
	}

	f, err := schema.ReadFreshness(ctx, m.opts.DB.Read)
	if err != nil {
		return nil, err
	}
	if !f.UpdatedAt.IsZero() {
		b.total("ltc_data_updated_timestamp_seconds", unixSeconds(f.UpdatedAt.UnixNano()))
	}
	var newest sql.NullTime
	if err := m.opts.DB.Read.QueryRowContext(ctx,
		"SELECT max(occurred_at) FROM stage_events WHERE occurred_at <= CAST(? AS TIMESTAMP)", to).Scan(&newest); err != nil {
		return nil, fmt.Errorf("newest event: %w", err)
	}
	if newest.Valid {
		b.total("ltc_data_newest_event_timestamp_seconds", unixSeconds(newest.Time.UnixNano()))
	}
	b.total("ltc_kpi_window_seconds", m.opts.Window.Seconds())
	b.total("ltc_kpi_data_version", float64(version))
	for _, fam := range kpiFamilies {
		if fam.dim != byNone && fam.dim != byMetric {
			b.series("ltc_kpi_label_values_dropped", float64(b.dropped[fam.name]), fam.name)
		}
	}
	return &kpiSnapshot{metrics: b.out, from: from, to: to, dataVersion: version}, nil
}
