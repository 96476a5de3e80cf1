package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
	DefaultKPIShortWindow     = 7 * 24 * time.Hour
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
	// Window is the long trailing window the gauges cover, ending at each refresh (default 28
	// days); ShortWindow the short one (default 7 days). Each KPI gauge is exported over both, told
	// apart by the label window ("7d", "28d"); equal windows export one.
	Window, ShortWindow time.Duration
	// Interval is the period of the scheduled refresh in Run (default one minute).
	Interval time.Duration
	// Timeout bounds one refresh (default two minutes).
	Timeout time.Duration
	// MaxLabelValues caps the label values of each gauge family (default 50): business units beyond
	// it (those with the fewest cases) and stages or gates beyond it (in model order) are dropped,
	// not aggregated, and counted in ltc_kpi_label_values_dropped. Totals always cover everything.
	MaxLabelValues int
	// Families restricts a refresh to these KPI query groups (the family label of
	// ltc_kpi_family_refresh_success, e.g. lead_conversion, compliance); nil means all. The backtest
	// uses it to replay only the KPIs its rules read.
	Families []string
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

// kpiSnapshot is the result of one refresh: ready-made const metrics (per step, so a failed step can
// keep its previous ones) plus what they were computed over.
type kpiSnapshot struct {
	metrics     []prometheus.Metric
	steps       map[string][]prometheus.Metric
	from, to    time.Time
	dataVersion int64
}

// NewKPIMetrics creates the KPI collector and its refresh metrics and registers them with reg.
// The gauges are empty until the first Refresh.
func NewKPIMetrics(reg prometheus.Registerer, opts KPIMetricsOptions) *KPIMetrics {
	if opts.Window <= 0 {
		opts.Window = DefaultKPIWindow
	}
	if opts.ShortWindow <= 0 {
		opts.ShortWindow = DefaultKPIShortWindow
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
	note := fmt.Sprintf(" Window: the trailing window named by the label window (%s or %s) ending at the last refresh; refreshed after each ETL commit and every %s.",
		windowLabel(opts.ShortWindow), windowLabel(opts.Window), durationText(opts.Interval))
	m := &KPIMetrics{opts: opts, trigger: make(chan struct{}, 1),
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
	m.descs = newKPIFamilies(note, " Refreshed after each ETL commit and every "+durationText(opts.Interval)+".")
	m.addInitiativeFamilies()
	reg.MustRegister(m, m.refreshes, m.failures, m.duration, m.lastRefresh)
	return m
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

// SetSource makes later refreshes compute over another warehouse (a read replica's newly opened
// snapshot). It waits for a running refresh to finish, so the previous warehouse can be closed
// after it returns; the gauges keep their values until the next refresh (call Trigger).
func (m *KPIMetrics) SetSource(eng *kpi.Engine, db *schema.DB) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.opts.Engine, m.opts.DB = eng, db
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

// Refresh recomputes every gauge over the windows ending now and swaps the snapshot in. A step
// (family) whose queries fail keeps its gauges of the previous snapshot, is flagged in
// ltc_kpi_family_refresh_success and logged; the others are updated. A refresh with a failed step,
// or one that fails as a whole (the data version cannot be read: the previous snapshot stays), is
// counted in ltc_kpi_refresh_failures_total (unless ctx itself was cancelled, i.e. shutdown) and its
// error returned; ltc_kpi_last_refresh_timestamp_seconds moves only when every step succeeded.
func (m *KPIMetrics) Refresh(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	s, err := m.compute(cctx)
	m.refreshes.Inc()
	m.duration.Observe(time.Since(start).Seconds())
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("server.KPIMetrics.Refresh: %w", err) // shutdown: neither a failure nor a snapshot
	}
	if s != nil {
		m.snap.Store(s)
	}
	if err != nil {
		err = fmt.Errorf("server.KPIMetrics.Refresh: %w", err)
		m.failures.Inc()
		m.opts.Logger.Warn("kpi metrics refresh failed; keeping the last values of what failed", "err", err,
			"duration_seconds", time.Since(start).Seconds())
		return err
	}
	m.lastRefresh.Set(unixSeconds(m.opts.Now().UnixNano()))
	return nil
}

// compute runs every step over the windows ending now. It returns no snapshot when the refresh
// cannot start (data version unreadable); otherwise a snapshot, with the previous gauges of the
// steps that failed, and their errors joined.
func (m *KPIMetrics) compute(ctx context.Context) (*kpiSnapshot, error) {
	to := m.opts.Now().UTC().Truncate(time.Second)
	version, err := schema.DataVersion(ctx, m.opts.DB.Read)
	if err != nil {
		return nil, err
	}
	st := &refreshState{to: to, version: version}
	for _, d := range []time.Duration{m.opts.ShortWindow, m.opts.Window} {
		if len(st.windows) == 0 || st.windows[0].to.Sub(st.windows[0].from) != d {
			st.windows = append(st.windows, kpiWindow{label: windowLabel(d), from: to.Add(-d), to: to})
		}
	}
	prev := m.snap.Load()
	s := &kpiSnapshot{steps: map[string][]prometheus.Metric{}, from: to.Add(-m.opts.Window), to: to, dataVersion: version}
	dropped := map[string]int{}
	health := &snapBuilder{m: m, dropped: dropped}
	var errs []error
	for _, step := range m.kpiSteps(st) {
		if m.opts.Families != nil && !slices.Contains(m.opts.Families, step.family) {
			continue
		}
		b := &snapBuilder{m: m, dropped: dropped}
		began := time.Now()
		var err error
		if step.windowed {
			for _, w := range st.windows {
				if err = step.run(ctx, b, w); err != nil {
					break
				}
			}
		} else {
			err = step.run(ctx, b, kpiWindow{})
		}
		health.series("ltc_kpi_family_refresh_duration_seconds", time.Since(began).Seconds(), step.family)
		ok := 1.0
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			ok = 0
			errs = append(errs, fmt.Errorf("%s: %w", step.family, err))
			b.out = nil
			if prev != nil {
				b.out = prev.steps[step.family]
			}
		}
		health.series("ltc_kpi_family_refresh_success", ok, step.family)
		s.steps[step.family] = b.out
		s.metrics = append(s.metrics, b.out...)
	}
	for _, fam := range kpiFamilies {
		switch fam.dim {
		case byNone, byMetric:
		case byBusinessUnit:
			health.series("ltc_kpi_label_values_dropped", float64(dropped[unitName(fam.name)]), unitName(fam.name))
		default:
			health.series("ltc_kpi_label_values_dropped", float64(dropped[fam.name]), fam.name)
		}
	}
	s.metrics = append(s.metrics, health.out...)
	return s, errors.Join(errs...)
}
