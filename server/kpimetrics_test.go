package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/internal/testenv"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// demoNow is the end of the generated demo data and the "now" of the KPI window in these tests.
var demoNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// demoWarehouse is a synthetic demo loaded through the real ETL: the warehouse, its KPI engine and
// the ETL metrics that observed the load.
type demoWarehouse struct {
	db       *schema.DB
	eng      *kpi.Engine
	cfg      *config.Config
	model    *schema.Model
	registry *prometheus.Registry // Go, process and ETL metrics (no KPI collector)
}

// demos holds one loaded demo per size, shared by the tests and benchmarks of this binary.
var demos struct {
	mu sync.Mutex
	m  map[string]*demoWarehouse
	// dirs are removed by TestMain.
	dirs []string
}

func TestMain(m *testing.M) {
	code := m.Run()
	demos.mu.Lock()
	for _, d := range demos.m {
		d.db.Close()
	}
	for _, dir := range demos.dirs {
		os.RemoveAll(dir)
	}
	demos.mu.Unlock()
	os.Exit(code)
}

// loadDemo generates the synthetic demo of a size (small: 10k leads, medium: 100k) and loads it
// through the ETL runner with the KPI engine's refresh, once per test binary.
func loadDemo(tb testing.TB, size string) *demoWarehouse {
	tb.Helper()
	demos.mu.Lock()
	defer demos.mu.Unlock()
	if d := demos.m[size]; d != nil {
		return d
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ltc-kpimetrics-"+size+"-")
	if err != nil {
		tb.Fatal(err)
	}
	demos.dirs = append(demos.dirs, dir)
	sum, err := synth.Generate(ctx, dir, synth.Options{Size: size, Seed: 1, Now: demoNow})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(sum.Config)
	if err != nil {
		tb.Fatal(err)
	}
	model, err := cfg.Model()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := schema.Open(ctx, filepath.Join(dir, "warehouse.duckdb"), schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	eng := kpi.New(db, model, kpi.Options{})
	reg := NewRegistry()
	em := NewETLMetrics(reg)
	runner := etl.NewRunner(etl.Options{DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve,
		DeriveEvents: cfg.ETL.DeriveEvents, Refresh: eng.Refresh, OnRun: em.Observe})
	if _, err := runner.RunAll(ctx); err != nil {
		db.Close()
		tb.Fatal(err)
	}
	d := &demoWarehouse{db: db, eng: eng, cfg: cfg, model: model, registry: reg}
	if demos.m == nil {
		demos.m = map[string]*demoWarehouse{}
	}
	demos.m[size] = d
	return d
}

// newKPIMetrics registers a KPI collector over the demo on reg, its window ending at demoNow.
func newKPIMetrics(d *demoWarehouse, reg prometheus.Registerer, maxLabels int) *KPIMetrics {
	return NewKPIMetrics(reg, KPIMetricsOptions{Engine: d.eng, DB: d.db, MaxLabelValues: maxLabels,
		Now: func() time.Time { return demoNow }})
}

// gauges gathers reg and returns every sample of name, keyed by its labels ("" for none) in
// Prometheus' label-set notation without braces.
func gauges(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[labelKey(m.GetLabel())] = m.GetGauge().GetValue()
		}
	}
	return out
}

// only keeps the samples whose label key contains filter.
func only(samples map[string]float64, filter string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range samples {
		if strings.Contains(k, filter) {
			out[k] = v
		}
	}
	return out
}

func labelKey(ls []*dto.LabelPair) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	return strings.Join(parts, ",")
}

func TestKPIMetricsMatchEngine(t *testing.T) {
	d := loadDemo(t, "small")
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	m := newKPIMetrics(d, reg, 0)
	if n := testutil.CollectAndCount(m); n != 0 {
		t.Fatalf("%d metrics before the first refresh, want none", n)
	}
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	from, to, version := m.Window()
	if !to.Equal(demoNow) || to.Sub(from) != DefaultKPIWindow || version <= 0 {
		t.Fatalf("window [%v, %v) version %d", from, to, version)
	}
	units := kpi.Scope{From: from, To: to, GroupBy: []string{"business_unit"}}

	conv, err := d.eng.LeadConversion(ctx, units)
	if err != nil {
		t.Fatal(err)
	}
	want, wantN := map[string]float64{}, map[string]float64{}
	for _, g := range conv.Groups {
		k := fmt.Sprintf("business_unit=%q,window=\"28d\"", g.Key["business_unit"])
		want[k], wantN[k] = g.Result.Value, float64(g.Result.N)
	}
	if len(want) < 3 {
		t.Fatalf("the demo should have several business units with leads in the window: %v", want)
	}
	// Totals and per-unit series are separate families; each carries its sample size.
	checkWindowGauges(t, reg, "ltc_kpi_unit_lead_conversion_ratio", want, `window="28d"`)
	checkWindowGauges(t, reg, "ltc_kpi_unit_lead_conversion_sample_size", wantN, `window="28d"`)
	checkWindowGauges(t, reg, "ltc_kpi_lead_conversion_ratio", map[string]float64{`window="28d"`: conv.Total.Value}, `window="28d"`)
	checkWindowGauges(t, reg, "ltc_kpi_lead_conversion_sample_size", map[string]float64{`window="28d"`: float64(conv.Total.N)}, `window="28d"`)
	// The short window is the engine's value over the 7 days ending at the refresh.
	conv7, err := d.eng.LeadConversion(ctx, kpi.Scope{From: to.Add(-7 * 24 * time.Hour), To: to})
	if err != nil {
		t.Fatal(err)
	}
	if conv7.Total.N == 0 || conv7.Total.N >= conv.Total.N {
		t.Fatalf("7-day n %d, 28-day n %d", conv7.Total.N, conv.Total.N)
	}
	checkWindowGauges(t, reg, "ltc_kpi_lead_conversion_ratio", map[string]float64{`window="7d"`: conv7.Total.Value}, `window="7d"`)
	checkWindowGauges(t, reg, "ltc_kpi_lead_conversion_sample_size", map[string]float64{`window="7d"`: float64(conv7.Total.N)}, `window="7d"`)

	co, err := d.eng.Compliance(ctx, units)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]float64{}
	for _, g := range co.Groups {
		want[fmt.Sprintf("business_unit=%q,window=\"28d\"", g.Key["business_unit"])] = g.Result.Rate.Value
	}
	checkWindowGauges(t, reg, "ltc_kpi_unit_compliance_ratio", want, `window="28d"`)
	checkWindowGauges(t, reg, "ltc_kpi_compliance_ratio", map[string]float64{`window="28d"`: co.Total.Rate.Value}, `window="28d"`)
	want, wantN = map[string]float64{}, map[string]float64{}
	for _, g := range co.Total.Gates {
		k := fmt.Sprintf("gate=%q,window=\"28d\"", g.Gate)
		want[k], wantN[k] = g.Rate.Value, float64(g.Rate.N)
	}
	checkWindowGauges(t, reg, "ltc_kpi_gate_compliance_ratio", want, `window="28d"`)
	checkWindowGauges(t, reg, "ltc_kpi_gate_compliance_sample_size", wantN, `window="28d"`)

	cyc, err := d.eng.CycleTimes(ctx, units)
	if err != nil {
		t.Fatal(err)
	}
	if got := gauges(t, reg, "ltc_kpi_sales_cycle_p90_seconds")[`window="28d"`]; got != cyc.Total.Sales.P90.Value*86400 || got <= 0 {
		t.Errorf("sales cycle p90 = %v s, engine %v days", got, cyc.Total.Sales.P90.Value)
	}
	cash, err := d.eng.Cash(ctx, units)
	if err != nil {
		t.Fatal(err)
	}
	if got := gauges(t, reg, "ltc_kpi_dso_seconds")[`window="28d"`]; got != cash.Total.DSO.Value*86400 || got <= 0 {
		t.Errorf("DSO = %v s, engine %v days", got, cash.Total.DSO.Value)
	}

	vs, err := d.eng.ValueStreamOf(ctx, kpi.Scope{From: from, To: to}, kpi.CycleSales)
	if err != nil {
		t.Fatal(err)
	}
	bn := only(gauges(t, reg, "ltc_kpi_bottleneck_stage"), `window="28d"`)
	if bn[fmt.Sprintf("cycle=\"sales\",stage=%q,window=\"28d\"", vs.Total.Bottleneck)] != 1 || len(bn) != len(vs.Total.Stages) {
		t.Errorf("bottleneck %q, gauges %v", vs.Total.Bottleneck, bn)
	}
	sum := 0.0
	for _, v := range bn {
		sum += v
	}
	if sum != 1 {
		t.Errorf("bottleneck gauges sum to %v, want exactly one stage at 1", sum)
	}

	if got := gauges(t, reg, "ltc_kpi_window_seconds")[`window="28d"`]; got != DefaultKPIWindow.Seconds() {
		t.Errorf("window = %v", got)
	}
	if got := gauges(t, reg, "ltc_kpi_data_version")[""]; got != float64(version) {
		t.Errorf("data version = %v, want %d", got, version)
	}
	newest := gauges(t, reg, "ltc_data_newest_event_timestamp_seconds")[""]
	if newest <= float64(demoNow.Add(-7*24*time.Hour).Unix()) || newest > float64(demoNow.Unix()) {
		t.Errorf("newest event at %v, want within the week before %v", time.Unix(int64(newest), 0).UTC(), demoNow)
	}
	for k, v := range gauges(t, reg, "ltc_kpi_label_values_dropped") {
		if v != 0 {
			t.Errorf("dropped %s = %v with the default cap", k, v)
		}
	}
	if got := testutil.ToFloat64(m.lastRefresh); got != float64(demoNow.Unix()) {
		t.Errorf("last refresh = %v", got)
	}
	if got := testutil.ToFloat64(m.failures); got != 0 {
		t.Errorf("failures = %v", got)
	}

	// Every family: a ratio in 0..1 (stage conversion excepted, see its help), HELP with the window
	// and the refresh note, and clean lint.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		seen[mf.GetName()] = true
		if !strings.Contains(mf.GetHelp(), "efreshed after each ETL commit") && strings.HasPrefix(mf.GetName(), "ltc_kpi_") &&
			!strings.HasPrefix(mf.GetName(), "ltc_kpi_refresh") && mf.GetName() != "ltc_kpi_last_refresh_timestamp_seconds" {
			t.Errorf("%s help lacks the refresh note: %q", mf.GetName(), mf.GetHelp())
		}
		if windowed(mf.GetName()) && strings.HasPrefix(mf.GetName(), "ltc_kpi_") && mf.GetType() == dto.MetricType_GAUGE &&
			mf.GetName() != "ltc_kpi_last_refresh_timestamp_seconds" && !strings.Contains(mf.GetHelp(), "label window (7d or 28d)") {
			t.Errorf("%s help does not state the window: %q", mf.GetName(), mf.GetHelp())
		}
		if strings.HasSuffix(mf.GetName(), "_ratio") {
			for _, mt := range mf.GetMetric() {
				if v := mt.GetGauge().GetValue(); v < 0 || v > 1 {
					t.Errorf("%s{%s} = %v, not in 0..1", mf.GetName(), labelKey(mt.GetLabel()), v)
				}
			}
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "business_unit", "cycle", "stage", "gate", "metric", "initiative", "kpi", "window", "family":
				default:
					t.Errorf("%s has label %q: only business_unit, cycle, stage, gate, initiative, kpi and window (and metric, family on the bookkeeping)", mf.GetName(), l.GetName())
				}
			}
		}
	}
	for _, f := range kpiFamilies {
		if !seen[f.name] {
			t.Errorf("family %s not exported on the demo", f.name)
		}
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func checkGauges(t *testing.T, reg prometheus.Gatherer, name string, want map[string]float64) {
	t.Helper()
	checkSamples(t, name, gauges(t, reg, name), want)
}

// checkWindowGauges compares the samples of name whose label key contains filter with want.
func checkWindowGauges(t *testing.T, reg prometheus.Gatherer, name string, want map[string]float64, filter string) {
	t.Helper()
	checkSamples(t, name, only(gauges(t, reg, name), filter), want)
}

func checkSamples(t *testing.T, name string, got, want map[string]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d series %v, want %d %v", name, len(got), got, len(want), want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s{%s} = %v (present %v), engine %v", name, k, g, ok, w)
		}
	}
}

func TestKPIMetricsLabelCap(t *testing.T) {
	d := loadDemo(t, "small")
	reg := prometheus.NewRegistry()
	m := newKPIMetrics(d, reg, 2)
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total := gauges(t, reg, "ltc_kpi_lead_conversion_ratio"); len(total) != 2 {
		t.Errorf("lead conversion totals with a cap of 2: %v, want one per window", total)
	}
	if conv := only(gauges(t, reg, "ltc_kpi_unit_lead_conversion_ratio"), `window="28d"`); len(conv) != 2 {
		t.Errorf("lead conversion with a cap of 2: %v, want 2 business units", conv)
	}
	from, to, _ := m.Window()
	all, err := d.eng.LeadConversion(context.Background(), kpi.Scope{From: from, To: to, GroupBy: []string{"business_unit"}})
	if err != nil {
		t.Fatal(err)
	}
	dropped := gauges(t, reg, "ltc_kpi_label_values_dropped")
	if got, want := dropped[`metric="ltc_kpi_unit_lead_conversion_ratio"`], float64(len(all.Groups)-2); got != want || want < 1 {
		t.Errorf("dropped business units = %v, want %v", got, want)
	}
	if n := len(only(gauges(t, reg, "ltc_kpi_stage_time_share_ratio"), `window="28d"`)); n != 2 {
		t.Errorf("stage time share series = %d, want 2", n)
	}
	if got := dropped[`metric="ltc_kpi_stage_time_share_ratio"`]; got != float64(len(d.eng.Model().Stages)-2) {
		t.Errorf("dropped stages = %v", got)
	}
}

// twoLeads is an in-memory warehouse with two leads of North created on 2026-03-01, none converted,
// refreshed for the engine; it is closed when the test ends.
func twoLeads(t *testing.T) (*schema.DB, *kpi.Engine) {
	t.Helper()
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Write.ExecContext(ctx, `INSERT INTO leads (lead_id, created_at, business_unit, _file) VALUES
		('L1', TIMESTAMP '2026-03-01 10:00:00', 'North', 't'), ('L2', TIMESTAMP '2026-03-01 11:00:00', 'North', 't')`); err != nil {
		t.Fatal(err)
	}
	eng := kpi.New(db, schema.StandardModel(), kpi.Options{})
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Refresh(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return db, eng
}

// TestKPIMetricsFailedRefreshKeepsValues closes the warehouse under a collector: the refresh fails and
// is counted, and scrapes go on serving the last values (a scrape never touches the warehouse).
func TestKPIMetricsFailedRefreshKeepsValues(t *testing.T) {
	ctx := context.Background()
	db, eng := twoLeads(t)
	reg := prometheus.NewRegistry()
	m := NewKPIMetrics(reg, KPIMetricsOptions{Engine: eng, DB: db, Now: func() time.Time { return demoNow },
		Logger: slog.New(slog.DiscardHandler)})
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before := exposition(t, reg, "ltc_kpi_lead_conversion_ratio", "ltc_kpi_unit_lead_conversion_ratio", "ltc_kpi_data_version", "ltc_kpi_window_seconds")
	if !strings.Contains(before, `ltc_kpi_unit_lead_conversion_ratio{business_unit="North",window="28d"} 0`) {
		t.Fatalf("no lead conversion for North:\n%s", before)
	}
	// A cancelled refresh (shutdown) is not a failure.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Refresh(cctx); err == nil {
		t.Fatal("cancelled refresh succeeded")
	}
	if got := testutil.ToFloat64(m.failures); got != 0 {
		t.Errorf("failures after a cancelled refresh = %v, want 0", got)
	}
	db.Close()
	if err := m.Refresh(ctx); err == nil {
		t.Fatal("refresh on a closed warehouse succeeded")
	}
	if got := testutil.ToFloat64(m.failures); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.refreshes); got != 3 {
		t.Errorf("refreshes = %v, want 3", got)
	}
	if after := exposition(t, reg, "ltc_kpi_lead_conversion_ratio", "ltc_kpi_unit_lead_conversion_ratio", "ltc_kpi_data_version", "ltc_kpi_window_seconds"); after != before {
		t.Errorf("values changed after a failed refresh:\nbefore\n%s\nafter\n%s", before, after)
	}
}

// TestKPIMetricsFailingFamilyKeepsItsValues: when one family's queries fail (its table is gone),
// that family keeps its last values and is flagged (success 0), the others are still refreshed and
// flagged 1, and the refresh counts as failed.
func TestKPIMetricsFailingFamilyKeepsItsValues(t *testing.T) {
	ctx := context.Background()
	db, eng := twoLeads(t) // lead conversion of North 0 over n = 2
	reg := prometheus.NewRegistry()
	now := demoNow
	m := NewKPIMetrics(reg, KPIMetricsOptions{Engine: eng, DB: db, Now: func() time.Time { return now },
		Logger: slog.New(slog.DiscardHandler)})
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	names := []string{"ltc_kpi_lead_conversion_ratio", "ltc_kpi_unit_lead_conversion_ratio", "ltc_kpi_unit_lead_conversion_sample_size"}
	before := exposition(t, reg, names...)
	if !strings.Contains(before, `ltc_kpi_unit_lead_conversion_sample_size{business_unit="North",window="28d"} 2`) {
		t.Fatalf("no n = 2 for North:\n%s", before)
	}
	if _, err := db.Write.ExecContext(ctx, "DROP TABLE kpi_lead"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour) // another window: not answered from the engine's result cache
	if err := m.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "lead_conversion") {
		t.Fatalf("refresh without kpi_lead: %v, want a lead_conversion error", err)
	}
	if got := testutil.ToFloat64(m.failures); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if after := exposition(t, reg, names...); after != before {
		t.Errorf("lead conversion changed after its family failed:\nbefore\n%s\nafter\n%s", before, after)
	}
	ok := gauges(t, reg, "ltc_kpi_family_refresh_success")
	if ok[`family="lead_conversion"`] != 0 || ok[`family="compliance"`] != 1 || ok[`family="freshness"`] != 1 || len(ok) < 8 {
		t.Errorf("family success flags: %v", ok)
	}
	if d := gauges(t, reg, "ltc_kpi_family_refresh_duration_seconds"); len(d) != len(ok) {
		t.Errorf("family durations %v for flags %v", d, ok)
	}
}

// exposition renders the named families of reg in the text format.
func exposition(t *testing.T, reg prometheus.Gatherer, names ...string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	New(Options{Registry: reg.(*prometheus.Registry)}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var out []string
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		for _, n := range names {
			if strings.HasPrefix(line, n+" ") || strings.HasPrefix(line, n+"{") {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, "\n")
}

func TestKPIMetricsRunRefreshesOnTrigger(t *testing.T) {
	d := loadDemo(t, "small")
	reg := prometheus.NewRegistry()
	m := NewKPIMetrics(reg, KPIMetricsOptions{Engine: d.eng, DB: d.db, Interval: time.Hour,
		Now: func() time.Time { return demoNow }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	waitFor := func(n float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for testutil.ToFloat64(m.refreshes) < n {
			if time.Now().After(deadline) {
				t.Fatalf("refreshes = %v, want %v", testutil.ToFloat64(m.refreshes), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(1) // once at start
	m.Trigger()
	waitFor(2) // after a trigger (an ETL commit)
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if got := testutil.ToFloat64(m.failures); got != 0 {
		t.Errorf("failures = %v", got)
	}
}

// liveServer serves the demo's ETL metrics and a refreshed KPI collector, with the KPI GraphQL API,
// on 127.0.0.1:0; it returns the base URL and the collector.
func liveServer(t *testing.T, d *demoWarehouse) (string, *KPIMetrics) {
	t.Helper()
	reg := NewRegistry()
	// The ETL metrics of the demo load: re-observe its bookkeeping on this registry.
	em := NewETLMetrics(reg)
	if err := em.Seed(context.Background(), d.db); err != nil {
		t.Fatal(err)
	}
	m := newKPIMetrics(d, reg, 0)
	if err := m.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	gql := graph.NewHandler(graph.NewResolver(graph.Deps{DB: d.db, KPI: d.eng, Version: "test"}), graph.HandlerOptions{})
	base, _ := start(t, Options{DB: d.db, Registry: reg, GraphQL: gql})
	return base, m
}

// TestMetricsPromtoolCheck runs `promtool check metrics` on a live /metrics of the small demo.
func TestMetricsPromtoolCheck(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	base, _ := liveServer(t, loadDemo(t, "small"))
	code, body, _ := fetch(t, "GET", base+"/metrics", "", "")
	if code != http.StatusOK || !strings.Contains(body, "ltc_kpi_compliance_ratio") || !strings.Contains(body, "ltc_etl_runs_total") {
		t.Fatalf("/metrics: %d\n%.2000s", code, body)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPrometheusScrapesKPIGauges starts a real Prometheus scraping ltc every second and checks that
// the compliance and lead-conversion gauges it stores equal what GraphQL returns for the same window.
func TestPrometheusScrapesKPIGauges(t *testing.T) {
	promBin := testenv.Tool(t, "prometheus", "Debian package prometheus")
	d := loadDemo(t, "small")
	base, m := liveServer(t, d)
	target := strings.TrimPrefix(base, "http://")

	dir := t.TempDir()
	promAddr := freeLoopbackAddr(t)
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ltc\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stopProcess(t, pid)
		cmd.Wait()
	}
	defer stop()

	promURL := "http://" + promAddr
	query := func(q string) map[string]float64 {
		t.Helper()
		resp, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  [2]any
				}
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
			return nil
		}
		out := map[string]float64{}
		for _, s := range r.Data.Result {
			v, err := strconv.ParseFloat(s.Value[1].(string), 64)
			if err != nil {
				t.Fatalf("%s: value %v", q, s.Value[1])
			}
			out[s.Metric["business_unit"]] = v
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if r := query(`ltc_kpi_compliance_ratio{job="ltc",window="28d"}`); len(r) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ltc_kpi_compliance_ratio in Prometheus after 60s; prometheus logs:\n%s", logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r := query(`up{job="ltc"}`); r[""] != 1 {
		t.Errorf("up = %v", r)
	}

	// The same window through GraphQL.
	from, to, _ := m.Window()
	scope := fmt.Sprintf(`{from: %q, to: %q, groupBy: [BUSINESS_UNIT]}`, from.Format(time.RFC3339), to.Format(time.RFC3339))
	q := `{ leadConversion(scope: ` + scope + `) { total { value n } groups { key { value } result { value n } } }
	        compliance(scope: ` + scope + `) { total { rate { value n } } groups { key { value } result { rate { value n } } } } }`
	body, _ := json.Marshal(map[string]string{"query": q})
	code, resp, _ := fetch(t, "POST", base+"/graphql", "", string(body))
	type kv struct {
		Value float64
		N     int
	}
	var gr struct {
		Data struct {
			LeadConversion struct {
				Total  kv
				Groups []struct {
					Key    []struct{ Value string }
					Result kv
				}
			}
			Compliance struct {
				Total  struct{ Rate kv }
				Groups []struct {
					Key    []struct{ Value string }
					Result struct{ Rate kv }
				}
			}
		}
		Errors []any
	}
	if err := json.Unmarshal([]byte(resp), &gr); err != nil || code != http.StatusOK || len(gr.Errors) > 0 {
		t.Fatalf("graphql: %d %v\n%s", code, err, resp)
	}
	wantConv := map[string]float64{"": gr.Data.LeadConversion.Total.Value}
	for _, g := range gr.Data.LeadConversion.Groups {
		if g.Result.N > 0 {
			wantConv[g.Key[0].Value] = g.Result.Value
		}
	}
	wantComp := map[string]float64{"": gr.Data.Compliance.Total.Rate.Value}
	for _, g := range gr.Data.Compliance.Groups {
		if g.Result.Rate.N > 0 {
			wantComp[g.Key[0].Value] = g.Result.Rate.Value
		}
	}
	if len(wantConv) < 3 || len(wantComp) < 3 {
		t.Fatalf("graphql returned too few groups: %v %v", wantConv, wantComp)
	}
	for _, c := range []struct {
		metric string
		want   map[string]float64
	}{{"ltc_kpi_lead_conversion_ratio", wantConv}, {"ltc_kpi_compliance_ratio", wantComp}} {
		// The total and the per-unit family (ltc_kpi_unit_*), over the long window.
		got := query(c.metric + `{job="ltc",window="28d"} or ` + strings.Replace(c.metric, "ltc_kpi_", "ltc_kpi_unit_", 1) + `{job="ltc",window="28d"}`)
		if len(got) != len(c.want) {
			t.Errorf("%s in Prometheus: %v, GraphQL: %v", c.metric, got, c.want)
		}
		for bu, w := range c.want {
			if g, ok := got[bu]; !ok || g != w {
				t.Errorf("%s{business_unit=%q}: Prometheus %v (present %v), GraphQL %v", c.metric, bu, g, ok, w)
			}
		}
	}
	// The ETL metrics arrive too; their job label becomes etl_job (honor_labels: false).
	if r := query(`ltc_etl_last_success_timestamp_seconds{etl_job="events"}`); len(r) != 1 {
		t.Errorf("ltc_etl_last_success_timestamp_seconds{etl_job=\"events\"}: %v", r)
	}
	stop()
}

// stopProcess stops a process this test started, by its PID (SIGINT: Prometheus shuts down cleanly).
func stopProcess(t *testing.T, pid int) {
	t.Helper()
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(os.Interrupt); err != nil {
		t.Logf("stop prometheus (pid %d): %v", pid, err)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// BenchmarkScrape measures GET /metrics through the handler (Go, process, ETL and KPI metrics) on
// the small (10k leads) and medium (100k leads) demos: the KPI gauges come from a snapshot, so the
// cost must not grow with the data.
func BenchmarkScrape(b *testing.B) {
	for _, size := range []string{"small", "medium"} {
		b.Run(size, func(b *testing.B) {
			d := loadDemo(b, size)
			reg := NewRegistry()
			if err := NewETLMetrics(reg).Seed(context.Background(), d.db); err != nil {
				b.Fatal(err)
			}
			m := NewKPIMetrics(reg, KPIMetricsOptions{Engine: d.eng, DB: d.db, Now: func() time.Time { return demoNow }})
			if err := m.Refresh(context.Background()); err != nil {
				b.Fatal(err)
			}
			h := New(Options{Registry: reg}).Handler()
			req := httptest.NewRequest("GET", "/metrics", nil)
			var bytes int
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
				bytes = rec.Body.Len()
			}
			b.ReportMetric(float64(bytes), "bytes/scrape")
		})
	}
}
