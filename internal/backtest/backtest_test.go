package backtest

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/internal/testenv"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

var (
	fullTable = flag.Bool("backtest.full", false, "run the full backtest table (make backtest): drops of 10/25/50% in a large and a small unit and 12 months without a change")
	tableOut  = flag.String("backtest.out", "", "also write the full table (markdown) to this file")
	ownConfig = flag.String("backtest.config", "", "replay one's own data instead: the ltc.yaml whose sources to load (make backtest CONFIG=…)")
)

const rulesFile = "../../dashboards/prometheus/alerts.yml"

// The replayed business: the demo's history up to btNow, a drop injected into Central (the control
// unit, whose process does not change) on injectAt, a Monday. The replay ends two weeks before btNow:
// the last days' leads have not had time to convert yet (see README: the backtest sees each lead's
// final state, not the state at the replayed time).
var (
	btNow    = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	injectAt = time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)
	replayTo = btNow.AddDate(0, 0, -14)
)

const dropUnit = "Central"

// ruleFamilies are the KPI query groups (the exporter's family label) of every rate LTCKPIDrop reads:
// lead conversion, win rate, adoption and iron-triangle coverage, compliance and promise kept.
var ruleFamilies = []string{"lead_conversion", "win_rate", "adoption", "compliance"}

// zWatch is the recorded z-scores the drop rule compares with its threshold, total and per unit.
const zWatch = "ltc:kpi_zscore or ltc:kpi_unit_zscore"

// target is one injected drop: the KPI injected (one of synth.InjectableKPIs) into a unit
// (synth.AllUnits for every unit), and where LTCKPIDrop should see it: its kpi label (an injected
// gate_compliance change lowers the chance of passing each gate in time, which the rule sees in
// compliance, the share of cases that passed every gate in time), its family, and its scope ("" for
// the total, the unit's own series otherwise).
type target struct {
	inject, unit       string
	kpi, family, scope string
}

// leadConversionDrop is a lead-conversion drop in Central (about 260 leads a week in the medium demo).
var leadConversionDrop = target{inject: "lead_conversion", unit: dropUnit, kpi: "lead_conversion", family: "lead_conversion", scope: dropUnit}

// complianceDrop is a gate-compliance drop in every unit, seen in the total: each demo unit has few
// cases entering a guarded stage (Central about 17 a week in the medium demo, below the minimum n of
// 30), the total about 4 times as many.
var complianceDrop = target{inject: "gate_compliance", unit: synth.AllUnits, kpi: "compliance", family: "compliance", scope: ""}

// scenario is one replay: the demo of a size (medium or small, a tenth of it), with binomial noise,
// with the same relative drop of each target from injectAt, or none.
type scenario struct {
	size     string
	binomial bool
	targets  []target
	drop     float64  // relative, e.g. -0.25; 0 for none
	families []string // refreshed KPI query groups; nil for ruleFamilies
	from, to time.Time
}

func (s scenario) String() string {
	noise := "quota"
	if s.binomial {
		noise = "binomial"
	}
	if s.drop == 0 {
		return fmt.Sprintf("%s demo (%s noise), no change, %s … %s", s.size, noise, s.from.Format(time.DateOnly), s.to.Format(time.DateOnly))
	}
	var ts []string
	for _, tg := range s.targets {
		ts = append(ts, tg.inject+" in "+tg.unit)
	}
	return fmt.Sprintf("%s demo (%s noise), %+.0f%% of %s from %s", s.size, noise, s.drop*100, strings.Join(ts, " and "), injectAt.Format(time.DateOnly))
}

// outcome is what the shipped rules did over a scenario's replay.
type outcome struct {
	// detected is, per target, when LTCKPIDrop first fired for it on or after the drop (zero if never).
	detected []time.Time
	// n7 is, per target, the median 7-day sample size of its KPI and scope over the replay (of lead
	// conversion in Central without a drop).
	n7 []float64
	// change is, per target, the relative change of its KPI and scope over 28 days, the 28 days before
	// the drop to the 28 days after it (NaN when the replay does not reach that far).
	change []float64
	// falseFirings lists the other firing episodes of LTCKPIDrop (other scopes or KPIs, or before the
	// drop), but for unitHits.
	falseFirings []string
	// unitHits lists the firings, after the drop, for a target's KPI in a unit it was injected into
	// besides the target's scope (a drop injected into every unit, seen in one of them too).
	unitHits []string
	// lowest is the lowest recorded z-score of each KPI and scope (label set) over the replay.
	lowest map[string]Low
}

// seriesName is the exporter's series of a KPI over a window, total (scope "") or of one unit.
func seriesName(kpiName, what, scope, window string) string {
	if scope == "" {
		return fmt.Sprintf(`ltc_kpi_%s_%s{window=%q}`, kpiName, what, window)
	}
	return fmt.Sprintf(`ltc_kpi_unit_%s_%s{business_unit=%q,window=%q}`, kpiName, what, scope, window)
}

func run(t *testing.T, promtool string, s scenario) outcome {
	t.Helper()
	ctx := context.Background()
	opts := synth.Options{Size: s.size, Seed: 1, Now: btNow, Binomial: s.binomial}
	targets := s.targets
	if s.drop != 0 {
		for _, tg := range targets {
			opts.Inject = append(opts.Inject, synth.Injection{KPI: tg.inject, Change: s.drop, From: injectAt, Unit: tg.unit})
		}
	} else {
		targets = []target{leadConversionDrop} // for n7 only
	}
	families := s.families
	if families == nil {
		families = ruleFamilies
	}
	w := testwarehouse.DemoWith(t, opts)
	h, err := Replay(ctx, HistoryOptions{Engine: w.Engine, DB: w.DB, From: s.from, To: s.to, Step: 24 * time.Hour,
		Families: families})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(ctx, promtool, rulesFile, h, zWatch)
	if err != nil {
		t.Fatal(err)
	}
	out := outcome{lowest: rep.Lowest, detected: make([]time.Time, len(targets))}
	before, after := slices.Index(h.Times, injectAt), slices.Index(h.Times, injectAt.AddDate(0, 0, 28))
	for _, tg := range targets {
		ns := slices.Clone(h.Series[seriesName(tg.kpi, "sample_size", tg.scope, "7d")])
		slices.Sort(ns)
		n7 := math.NaN()
		if len(ns) > 0 {
			n7 = ns[len(ns)/2]
		}
		change := math.NaN()
		if r28 := h.Series[seriesName(tg.kpi, "ratio", tg.scope, "28d")]; before >= 0 && after >= 0 && len(r28) == len(h.Times) {
			change = r28[after]/r28[before] - 1
		}
		out.n7, out.change = append(out.n7, n7), append(out.change, change)
	}
	for _, f := range rep.Firings {
		if f.Alert != "LTCKPIDrop" { // the level alerts (LTCComplianceLow under 60%) are not this backtest's subject
			t.Logf("%v: %s %v from %s", s, f.Alert, f.Labels, f.First().Format(time.DateOnly))
			continue
		}
		for _, ep := range episodes(f.Times) {
			hit, alsoHit := -1, false
			for i, tg := range targets {
				if s.drop == 0 || f.Labels["kpi"] != tg.kpi || ep.Before(injectAt) {
					continue
				}
				switch {
				case f.Labels["business_unit"] == tg.scope:
					hit = i
				case tg.unit == synth.AllUnits: // a unit the drop was injected into too: seen there, not false
					alsoHit = true
				}
			}
			switch {
			case hit >= 0 && out.detected[hit].IsZero():
				out.detected[hit] = ep
			case alsoHit:
				out.unitHits = append(out.unitHits, fmt.Sprintf("%s %s from %s", f.Labels["business_unit"], f.Labels["kpi"], ep.Format(time.DateOnly)))
			case hit < 0:
				out.falseFirings = append(out.falseFirings, fmt.Sprintf("%v from %s", f.Labels, ep.Format(time.DateOnly)))
			}
		}
	}
	return out
}

// episodes returns the start of each run of consecutive days in times.
func episodes(times []time.Time) []time.Time {
	var out []time.Time
	for i, at := range times {
		if i == 0 || at.Sub(times[i-1]) > 24*time.Hour {
			out = append(out, at)
		}
	}
	return out
}

func days(d time.Duration) string { return fmt.Sprintf("%.0f days", d.Hours()/24) }

// TestBacktestShort is the backtest in `make test`: the medium demo (Central: about 260 leads a week)
// with binomial noise and a 75% drop of lead conversion in Central, replayed daily from six weeks
// before to four weeks after the drop. The shipped rules must fire for the drop within 7 days and
// nothing else: not before the drop, not for the three other units or the total (undisturbed, but
// for the total's share of Central's drop). Why 75%: Central's rate is about 0.13, so once the 7-day
// window is past the drop z ≈ −0.75·0.13 / √(0.13·0.87·(1/260 + 1/1050)) ≈ −4.3, and it crosses −3
// about five days in; a 50% drop reaches only z ≈ −2.8 at this n (README.md has the table for
// 10/25/50/75% and both unit sizes, and the n each would need). One load keeps it near a minute.
func TestBacktestShort(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	if testing.Short() {
		t.Skip("backtest: loads the medium demo (about a minute)")
	}
	from, to := injectAt.AddDate(0, 0, -42), injectAt.AddDate(0, 0, 28)
	drop := run(t, promtool, scenario{size: "medium", binomial: true, targets: []target{leadConversionDrop}, drop: -0.75,
		families: []string{"lead_conversion"}, from: from, to: to})
	if drop.detected[0].IsZero() || drop.detected[0].Sub(injectAt) > 7*24*time.Hour {
		t.Errorf("75%% drop in %s on %s: detected %v, want within 7 days", dropUnit, injectAt.Format(time.DateOnly), drop.detected[0])
	}
	if drop.n7[0] < 50 {
		t.Errorf("Central's 7-day n is %v: not the large unit this test means", drop.n7[0])
	}
	if len(drop.falseFirings) > 0 {
		t.Errorf("other firings: %v", drop.falseFirings)
	}
	t.Logf("75%% drop detected after %s (Central n7 ≈ %.0f)", days(drop.detected[0].Sub(injectAt)), drop.n7[0])
}

// TestBacktestTable is `make backtest`: the table of detection delays and false firings, and the
// lowest z-score of every KPI and scope over the undisturbed year (what the threshold must stay below).
// Each drop replay injects the same relative drop into lead conversion in Central and gate compliance
// in every unit (one demo load for both), starting 98 days before the drop so that the quarter guard
// (the same 7 days 13 weeks earlier) is in force when it comes.
func TestBacktestTable(t *testing.T) {
	if !*fullTable {
		t.Skip("the full backtest runs with -backtest.full (make backtest)")
	}
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	var b strings.Builder
	fmt.Fprintf(&b, "Backtest of dashboards/prometheus/alerts.yml (LTCKPIDrop), `make backtest`; demo seed 1, today %s, daily replay, binomial noise.\n\n", btNow.Format(time.DateOnly))
	fmt.Fprintf(&b, "| demo | injected from %s | rule sees (scope) | median n (7 d) | measured change (28 d) | detected after | other firings |\n|---|---|---|---|---|---|---|\n", injectAt.Format(time.DateOnly))
	var quiet []outcome
	row := func(s scenario, o outcome) {
		if s.drop == 0 {
			fmt.Fprintf(&b, "| %s | none, %s … %s | all six KPIs (total, every unit) | %.0f (lead conversion, Central) | — | — | %d %s |\n",
				s.size, s.from.Format(time.DateOnly), s.to.Format(time.DateOnly), o.n7[0], len(o.falseFirings), strings.Join(o.falseFirings, "; "))
			t.Logf("%v: false %v", s, o.falseFirings)
			return
		}
		for i, tg := range s.targets {
			det, measured, scope := "never", "—", tg.scope
			if !o.detected[i].IsZero() {
				det = days(o.detected[i].Sub(injectAt))
			}
			if !math.IsNaN(o.change[i]) {
				measured = fmt.Sprintf("%+.0f%%", o.change[i]*100)
			}
			if scope == "" {
				scope = "total"
			}
			other := "(see the row above)"
			if i == 0 {
				other = fmt.Sprintf("%d %s", len(o.falseFirings), strings.Join(o.falseFirings, "; "))
			}
			if tg.unit == synth.AllUnits && len(o.unitHits) > 0 {
				det += " (also " + strings.Join(o.unitHits, ", ") + ")"
			}
			fmt.Fprintf(&b, "| %s | %s %+.0f%% in %s | %s (%s) | %.0f | %s | %s | %s |\n", s.size, tg.inject, s.drop*100, tg.unit,
				tg.kpi, scope, o.n7[i], measured, det, other)
		}
		t.Logf("%v: detected %v, change %v, false %v, also %v, n7 %v", s, o.detected, o.change, o.falseFirings, o.unitHits, o.n7)
	}
	for _, size := range []string{"medium", "small"} {
		for _, drop := range []float64{-0.1, -0.25, -0.5, -0.75} {
			s := scenario{size: size, binomial: true, targets: []target{leadConversionDrop, complianceDrop}, drop: drop,
				families: []string{"lead_conversion", "compliance"}, from: injectAt.AddDate(0, 0, -98), to: injectAt.AddDate(0, 0, 29)}
			row(s, run(t, promtool, s))
		}
		s := scenario{size: size, binomial: true, from: replayTo.AddDate(-1, 0, 0), to: replayTo}
		o := run(t, promtool, s)
		row(s, o)
		quiet = append(quiet, o)
	}
	b.WriteString("\nLowest z-score (ltc:kpi_zscore, ltc:kpi_unit_zscore) over the undisturbed year, per KPI and scope (medium / small demo):\n\n")
	writeLowest(&b, quiet)
	t.Log("\n" + b.String())
	if *tableOut != "" {
		if err := os.WriteFile(*tableOut, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// writeLowest writes a table of the lowest z per KPI (rows) and scope (columns: the total, then each
// business unit), one "a / b / …" cell entry per outcome.
func writeLowest(b *strings.Builder, outs []outcome) {
	kpis, scopes := map[string]bool{}, map[string]bool{"total": true}
	lows := make([]map[[2]string]Low, len(outs))
	for i, o := range outs {
		lows[i] = map[[2]string]Low{}
		for k, low := range o.lowest {
			ls := map[string]string{}
			for _, l := range labelRE.FindAllStringSubmatch(k, -1) {
				ls[l[1]] = l[2]
			}
			scope := ls["business_unit"]
			if scope == "" {
				scope = "total"
			}
			kpis[ls["kpi"]], scopes[scope] = true, true
			lows[i][[2]string{ls["kpi"], scope}] = low
		}
	}
	cols := slices.Sorted(maps.Keys(scopes))
	cols = append([]string{"total"}, slices.DeleteFunc(cols, func(s string) bool { return s == "total" })...)
	fmt.Fprintf(b, "| KPI | %s | lowest (medium) |\n|---|%s---|\n", strings.Join(cols, " | "), strings.Repeat("---|", len(cols)))
	for _, k := range slices.Sorted(maps.Keys(kpis)) {
		cells := make([]string, len(cols))
		for j, c := range cols {
			vs := make([]string, len(outs))
			for i := range outs {
				vs[i] = "–"
				if low, ok := lows[i][[2]string{k, c}]; ok {
					vs[i] = fmt.Sprintf("%.2f", low.Value)
				}
			}
			cells[j] = strings.Join(vs, " / ")
		}
		minLow, minAt := Low{Value: math.Inf(1)}, ""
		for c, low := range lows[0] {
			if c[0] == k && low.Value < minLow.Value {
				minLow, minAt = low, c[1]
			}
		}
		fmt.Fprintf(b, "| %s | %s | %.2f (%s, %s) |\n", k, strings.Join(cells, " | "), minLow.Value, minAt, minLow.At.Format(time.DateOnly))
	}
}

// TestBacktestOwnData replays one's own warehouse (-backtest.config, make backtest CONFIG=ltc.yaml):
// the 12 months ending two weeks before its newest event, every rate the drop rule reads, and lists
// each LTCKPIDrop firing. Without an injected change there is no ground truth: each firing is either a
// real drop worth a look in the dashboards or a false alarm that argues for a stricter threshold.
func TestBacktestOwnData(t *testing.T) {
	if *ownConfig == "" {
		t.Skip("replays one's own data with -backtest.config (make backtest CONFIG=…)")
	}
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	ctx := context.Background()
	w := testwarehouse.FromConfig(t, *ownConfig, time.Time{})
	var newest time.Time
	if err := w.DB.Read.QueryRowContext(ctx, "SELECT max(occurred_at) FROM stage_events").Scan(&newest); err != nil {
		t.Fatalf("newest event: %v", err)
	}
	to := newest.UTC().Truncate(24*time.Hour).AddDate(0, 0, -14)
	h, err := Replay(ctx, HistoryOptions{Engine: w.Engine, DB: w.DB, From: to.AddDate(-1, 0, 0), To: to, Step: 24 * time.Hour,
		Families: ruleFamilies})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Evaluate(ctx, promtool, rulesFile, h, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d days replayed up to %s, %d firing series", *ownConfig, len(h.Times), to.Format(time.DateOnly), len(rep.Firings))
	for _, f := range rep.Firings {
		for _, ep := range episodes(f.Times) {
			t.Logf("%s %v from %s", f.Alert, f.Labels, ep.Format(time.DateOnly))
		}
	}
}
