package backtest

import (
	"bytes"
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/internal/testenv"
)

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"0s": 0, "23h": 23 * time.Hour, "1w": 7 * 24 * time.Hour,
		"1d1h": 25 * time.Hour, "1y2w3d4h5m6s7ms": 365*24*time.Hour + 17*24*time.Hour + 4*time.Hour + 5*time.Minute + 6*time.Second + 7*time.Millisecond} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"", "1x", "h"} {
		if _, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q): want an error", bad)
		}
	}
}

// TestParseReport reads a report as promtool 2.42 prints it (copied from a run): two evaluation
// times, the second with two alerts, and a watched expression's samples at both.
func TestParseReport(t *testing.T) {
	const report = `Unit Testing:  t.yml
  FAILED:
    expr: "ALERTS{alertstate=\"firing\"}", time: 23h,
        exp: nil
        got: {__name__="ALERTS", alertname="LTCKPIDrop", alertstate="firing", business_unit="Central", instance="backtest", job="ltc", kpi="lead_conversion", severity="warning"} 1E+00

    expr: "ALERTS{alertstate=\"firing\"}", time: 1d23h,
        exp: nil
        got: {__name__="ALERTS", alertname="LTCKPIDrop", alertstate="firing", business_unit="Central", instance="backtest", job="ltc", kpi="lead_conversion", severity="warning"} 1E+00, {__name__="ALERTS", alertname="LTCKPIDrop", alertstate="firing", instance="backtest", job="ltc", kpi="win_rate", severity="warning"} 1E+00

    expr: "ltc:kpi_zscore or ltc:kpi_unit_zscore", time: 23h,
        exp: nil
        got: {__name__="ltc:kpi_unit_zscore", business_unit="Central", instance="backtest", job="ltc", kpi="lead_conversion"} -2.7512344E+00, {__name__="ltc:kpi_zscore", instance="backtest", job="ltc", kpi="win_rate"} 3E-01

    expr: "ltc:kpi_zscore or ltc:kpi_unit_zscore", time: 1d23h,
        exp: nil
        got: {__name__="ltc:kpi_unit_zscore", business_unit="Central", instance="backtest", job="ltc", kpi="lead_conversion"} -3.5E+00, {__name__="ltc:kpi_zscore", instance="backtest", job="ltc", kpi="win_rate"} 1.25E+00
`
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	rep, err := parseReport(report, "ltc:kpi_zscore or ltc:kpi_unit_zscore", t0, 23*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The lowest of each watched series: Central -3.5 on the second day, the total win rate 0.3 on the first.
	want := map[string]Low{
		`{__name__="ltc:kpi_unit_zscore", business_unit="Central", kpi="lead_conversion"}`: {Value: -3.5, At: t0.Add(24 * time.Hour)},
		`{__name__="ltc:kpi_zscore", kpi="win_rate"}`:                                      {Value: 0.3, At: t0},
	}
	if len(rep.Lowest) != len(want) {
		t.Errorf("lowest: %v, want %v", rep.Lowest, want)
	}
	for k, w := range want {
		if got := rep.Lowest[k]; got.Value != w.Value || !got.At.Equal(w.At) {
			t.Errorf("lowest %s = %+v, want %+v", k, got, w)
		}
	}
	fs := rep.Firings
	if len(fs) != 2 {
		t.Fatalf("got %d firings: %+v", len(fs), fs)
	}
	c := fs[0]
	if c.Alert != "LTCKPIDrop" || c.Labels["business_unit"] != "Central" || c.Labels["kpi"] != "lead_conversion" ||
		len(c.Times) != 2 || !c.First().Equal(t0) || !c.Times[1].Equal(t0.Add(24*time.Hour)) {
		t.Errorf("first firing: %+v", c)
	}
	if w := fs[1]; w.Labels["kpi"] != "win_rate" || w.Labels["business_unit"] != "" || !w.First().Equal(t0.Add(24*time.Hour)) {
		t.Errorf("second firing: %+v", w)
	}
}

func TestWriteOpenMetrics(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	h := &History{Times: []time.Time{t0, t0.Add(24 * time.Hour)}, Series: map[string][]float64{
		`ltc_kpi_lead_conversion_ratio{window="7d"}`:                            {0.25, math.NaN()},
		`ltc_kpi_unit_lead_conversion_ratio{business_unit="North",window="7d"}`: {0.5, 0.125},
	}}
	var b bytes.Buffer
	if err := WriteOpenMetrics(&b, h); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"# TYPE ltc_kpi_lead_conversion_ratio gauge",
		`ltc_kpi_lead_conversion_ratio{window="7d",instance="backtest",job="ltc"} 0.25 1788220800`,
		"# TYPE ltc_kpi_unit_lead_conversion_ratio gauge",
		`ltc_kpi_unit_lead_conversion_ratio{business_unit="North",window="7d",instance="backtest",job="ltc"} 0.5 1788220800`,
		`ltc_kpi_unit_lead_conversion_ratio{business_unit="North",window="7d",instance="backtest",job="ltc"} 0.125 1788307200`,
		"# EOF", ""}, "\n")
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestCreateBlocks turns a replayed history into TSDB blocks with the real promtool and checks that
// blocks were written and that promtool reads the series back.
func TestCreateBlocks(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	h := &History{Times: []time.Time{t0, t0.Add(24 * time.Hour), t0.Add(48 * time.Hour)}, Series: map[string][]float64{
		`ltc_kpi_unit_lead_conversion_ratio{business_unit="North",window="7d"}`: {0.5, 0.25, math.NaN()},
	}}
	dir := t.TempDir()
	if err := CreateBlocks(context.Background(), promtool, h, dir); err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json"))
	if len(metas) == 0 {
		t.Fatalf("blocks: %v", metas)
	}
	out, err := exec.Command(promtool, "tsdb", "analyze", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ltc_kpi_unit_lead_conversion_ratio") {
		t.Errorf("promtool tsdb analyze: %v\n%s", err, out)
	}
}
