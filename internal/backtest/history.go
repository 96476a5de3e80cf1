// Package backtest replays a warehouse's KPI history through the exporter and the shipped alert
// rules (DESIGN §7): History refreshes server.KPIMetrics with its clock set to each step of a
// period (the exporter's own code path "as of" that time, not a second definition of the gauges),
// WriteOpenMetrics writes those samples for `promtool tsdb create-blocks-from openmetrics`, and
// Evaluate runs the rules over them with `promtool test rules`, reporting when each alert fired.
// The test in this package runs a short history; `make backtest` the full table.
package backtest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
	"github.com/ltc-analytics/ltc/server"
)

// History is the exporter's gauges at each step of a period: Series maps a series in Prometheus
// notation (name{labels}) to its value at each of Times, NaN where the exporter had no sample.
type History struct {
	Times  []time.Time
	Series map[string][]float64
}

// HistoryOptions configures Replay.
type HistoryOptions struct {
	Engine *kpi.Engine
	DB     *schema.DB
	// From and To bound the replay [From, To); Step is the time between refreshes.
	From, To time.Time
	Step     time.Duration
	// Families are the KPI query groups to refresh (server.KPIMetricsOptions.Families); nil means all.
	Families []string
	// Keep selects the metric families kept (by name prefix); nil keeps every ltc_kpi_ family.
	Keep []string
}

// Replay refreshes a KPI collector as of each step and records its samples.
func Replay(ctx context.Context, o HistoryOptions) (*History, error) {
	if o.Step <= 0 || !o.From.Before(o.To) {
		return nil, fmt.Errorf("backtest.Replay: empty period [%v, %v) or step %v", o.From, o.To, o.Step)
	}
	now := o.From
	reg := prometheus.NewRegistry()
	m := server.NewKPIMetrics(reg, server.KPIMetricsOptions{Engine: o.Engine, DB: o.DB, Families: o.Families,
		Now: func() time.Time { return now }, Logger: slog.New(slog.DiscardHandler)})
	h := &History{Series: map[string][]float64{}}
	keep := o.Keep
	if keep == nil {
		keep = []string{"ltc_kpi_"}
	}
	for i := 0; now.Before(o.To); i, now = i+1, now.Add(o.Step) {
		if err := m.Refresh(ctx); err != nil {
			return nil, fmt.Errorf("backtest.Replay at %v: %w", now, err)
		}
		mfs, err := reg.Gather()
		if err != nil {
			return nil, fmt.Errorf("backtest.Replay at %v: %w", now, err)
		}
		h.Times = append(h.Times, now)
		for _, mf := range mfs {
			if !kept(mf.GetName(), keep) || mf.GetType() != dto.MetricType_GAUGE {
				continue
			}
			for _, mt := range mf.GetMetric() {
				key := seriesKey(mf.GetName(), mt.GetLabel())
				vs, ok := h.Series[key]
				if !ok {
					vs = make([]float64, i, i+1)
					for j := range vs {
						vs[j] = math.NaN()
					}
				}
				h.Series[key] = append(vs, mt.GetGauge().GetValue())
			}
		}
		for k, vs := range h.Series { // series the exporter did not publish at this step
			if len(vs) == i {
				h.Series[k] = append(vs, math.NaN())
			}
		}
	}
	return h, nil
}

func kept(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func seriesKey(name string, ls []*dto.LabelPair) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = fmt.Sprintf("%s=%q", l.GetName(), l.GetValue())
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// Keys returns the series of h in order.
func (h *History) Keys() []string {
	keys := make([]string, 0, len(h.Series))
	for k := range h.Series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
