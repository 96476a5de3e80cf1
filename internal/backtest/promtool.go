package backtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Target labels the replayed series carry, as a scrape of job "ltc" would add them.
const targetLabels = `instance="backtest",job="ltc"`

// withTarget adds the target labels to a series key name{labels}.
func withTarget(key string) string {
	if strings.HasSuffix(key, "{}") {
		return strings.TrimSuffix(key, "}") + targetLabels + "}"
	}
	return strings.TrimSuffix(key, "}") + "," + targetLabels + "}"
}

// WriteOpenMetrics writes h in the OpenMetrics text format (one sample per series and step, with its
// timestamp; steps without a sample are left out), as `promtool tsdb create-blocks-from openmetrics` reads it.
func WriteOpenMetrics(w io.Writer, h *History) error {
	bw := bufio.NewWriter(w)
	last := ""
	for _, k := range h.Keys() {
		name := k[:strings.IndexByte(k, '{')]
		if name != last {
			fmt.Fprintf(bw, "# TYPE %s gauge\n", name)
			last = name
		}
		for i, v := range h.Series[k] {
			if !math.IsNaN(v) {
				fmt.Fprintf(bw, "%s %s %d\n", withTarget(k), strconv.FormatFloat(v, 'g', -1, 64), h.Times[i].Unix())
			}
		}
	}
	fmt.Fprintln(bw, "# EOF")
	return bw.Flush()
}

// CreateBlocks turns h into TSDB blocks in dir with `promtool tsdb create-blocks-from openmetrics`,
// e.g. to load the replayed history into a Prometheus and look at it.
func CreateBlocks(ctx context.Context, promtool string, h *History, dir string) error {
	f, err := os.CreateTemp("", "ltc-backtest-*.om")
	if err != nil {
		return fmt.Errorf("backtest.CreateBlocks: %w", err)
	}
	defer os.Remove(f.Name())
	if err := WriteOpenMetrics(f, h); err != nil {
		f.Close()
		return fmt.Errorf("backtest.CreateBlocks: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backtest.CreateBlocks: %w", err)
	}
	out, err := exec.CommandContext(ctx, promtool, "tsdb", "create-blocks-from", "openmetrics", f.Name(), dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("backtest.CreateBlocks: promtool: %w\n%s", err, out)
	}
	return nil
}

// Firing is one alert series that fired during a replay: its labels and the evaluation times at
// which it was firing.
type Firing struct {
	Alert  string
	Labels map[string]string
	Times  []time.Time
}

// First is the first time the alert was firing.
func (f Firing) First() time.Time { return f.Times[0] }

// evalHour is the hour of each day at which the firing alerts are read (the end of the day's samples).
const evalHour = 23

// firingExpr is the expression whose samples are the firing alerts.
const firingExpr = `ALERTS{alertstate="firing"}`

// Report is what the rules did over a replay: the alerts that fired and, per series of the watched
// expression (Evaluate's watch), its lowest value.
type Report struct {
	Firings []Firing
	Lowest  map[string]Low
}

// Low is the lowest value a watched series reached and the (first) time it did.
type Low struct {
	Value float64
	At    time.Time
}

// Evaluate runs the rule file over h with `promtool test rules` (evaluating every hour; each step's
// samples repeated hourly until the next step, as a scrape every hour would store them) and reports
// the alerts firing at the end of each step (evalHour into it), read from promtool's report of ALERTS.
// With watch (a PromQL expression, e.g. a recording rule's name) it also reports the lowest value
// each of watch's series took at those times, as the rules computed it.
func Evaluate(ctx context.Context, promtool, rules string, h *History, watch string) (*Report, error) {
	if len(h.Times) < 2 {
		return nil, fmt.Errorf("backtest.Evaluate: need at least two steps, got %d", len(h.Times))
	}
	step := h.Times[1].Sub(h.Times[0])
	hours := int(step / time.Hour)
	if hours < 1 || step%time.Hour != 0 {
		return nil, fmt.Errorf("backtest.Evaluate: step %v is not a whole number of hours", step)
	}
	abs, err := filepath.Abs(rules)
	if err != nil {
		return nil, fmt.Errorf("backtest.Evaluate: %w", err)
	}
	dir, err := os.MkdirTemp("", "ltc-backtest-")
	if err != nil {
		return nil, fmt.Errorf("backtest.Evaluate: %w", err)
	}
	defer os.RemoveAll(dir)
	groups, err := ruleGroups(abs)
	if err != nil {
		return nil, fmt.Errorf("backtest.Evaluate: %w", err)
	}
	var b strings.Builder
	// The groups in file order, as Prometheus evaluates them: promtool's own order is random, and an
	// alert group evaluated before the recording rules it reads sees no sample at that time.
	fmt.Fprintf(&b, "rule_files: [%q]\nevaluation_interval: 1h\ngroup_eval_order: [%s]\ntests:\n  - interval: 1h\n    input_series:\n",
		abs, strings.Join(groups, ", "))
	for _, k := range h.Keys() {
		fmt.Fprintf(&b, "      - series: %s\n        values: '", strconv.Quote(withTarget(k)))
		for i, v := range h.Series[k] {
			if i > 0 {
				b.WriteByte(' ')
			}
			s := "_"
			if !math.IsNaN(v) {
				s = strconv.FormatFloat(v, 'g', -1, 64)
			}
			if hours > 1 {
				s += "x" + strconv.Itoa(hours-1)
			}
			b.WriteString(s)
		}
		b.WriteString("'\n")
	}
	b.WriteString("    promql_expr_test:\n")
	at := evalHour % hours
	exprs := []string{firingExpr}
	if watch != "" {
		exprs = append(exprs, watch)
	}
	for i := range h.Times {
		for _, e := range exprs {
			fmt.Fprintf(&b, "      - expr: %s\n        eval_time: %dh\n        exp_samples: []\n", strconv.Quote(e), i*hours+at)
		}
	}
	test := filepath.Join(dir, "backtest_test.yml")
	if err := os.WriteFile(test, []byte(b.String()), 0o644); err != nil {
		return nil, fmt.Errorf("backtest.Evaluate: %w", err)
	}
	if keep := os.Getenv("LTC_BACKTEST_KEEP"); keep != "" { // debugging: keep the generated test file
		if err := os.WriteFile(keep, []byte(b.String()), 0o644); err != nil {
			return nil, fmt.Errorf("backtest.Evaluate: %w", err)
		}
	}
	out, err := exec.CommandContext(ctx, promtool, "test", "rules", test).CombinedOutput()
	if err == nil {
		return &Report{}, nil // every expectation of "nothing" held
	}
	if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(string(out), "exp: nil") {
		return nil, fmt.Errorf("backtest.Evaluate: promtool test rules: %v\n%.4000s", err, out)
	}
	return parseReport(string(out), watch, h.Times[0], time.Duration(at)*time.Hour)
}

// ruleGroups returns the names of a rule file's groups in file order.
func ruleGroups(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rf struct {
		Groups []struct {
			Name string `yaml:"name"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &rf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make([]string, len(rf.Groups))
	for i, g := range rf.Groups {
		names[i] = strconv.Quote(g.Name)
	}
	return names, nil
}

var (
	failureRE = regexp.MustCompile(`expr: ("(?:[^"\\]|\\.)*"), time: ([0-9a-z]+),\s*\n\s*exp: nil\s*\n\s*got: ([^\n]*)`)
	sampleRE  = regexp.MustCompile(`\{([^}]*)\} ([-+0-9.eEInfNa]+)`)
	labelRE   = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseReport reads promtool's failure report: for each expression and evaluation time, the samples
// it got: firingExpr's are the firing alerts, watch's go into Lowest. t0 is the time of the first
// sample; a step is reported at its time plus offset.
func parseReport(out, watch string, t0 time.Time, offset time.Duration) (*Report, error) {
	byKey := map[string]*Firing{}
	rep := &Report{Lowest: map[string]Low{}}
	for _, m := range failureRE.FindAllStringSubmatch(out, -1) {
		expr, err := strconv.Unquote(m[1])
		if err != nil {
			return nil, fmt.Errorf("backtest: promtool report: expression %s: %w", m[1], err)
		}
		d, err := parseDuration(m[2])
		if err != nil {
			return nil, fmt.Errorf("backtest: promtool report: %w", err)
		}
		at := t0.Add(d - offset)
		for _, sm := range sampleRE.FindAllStringSubmatch(m[3], -1) {
			switch expr {
			case firingExpr:
				f := Firing{Labels: map[string]string{}}
				for _, l := range labelRE.FindAllStringSubmatch(sm[1], -1) {
					switch l[1] {
					case "__name__", "alertstate", "instance", "job":
					case "alertname":
						f.Alert = l[2]
					default:
						f.Labels[l[1]] = l[2]
					}
				}
				key := sm[1]
				if byKey[key] == nil {
					byKey[key] = &f
				}
				byKey[key].Times = append(byKey[key].Times, at)
			case watch:
				v, err := strconv.ParseFloat(sm[2], 64)
				if err != nil {
					return nil, fmt.Errorf("backtest: promtool report: value of %s: %w", sm[1], err)
				}
				key := watchKey(sm[1])
				if low, ok := rep.Lowest[key]; !ok || v < low.Value {
					rep.Lowest[key] = Low{Value: v, At: at}
				}
			}
		}
	}
	for _, f := range byKey {
		sort.Slice(f.Times, func(i, j int) bool { return f.Times[i].Before(f.Times[j]) })
		rep.Firings = append(rep.Firings, *f)
	}
	sort.Slice(rep.Firings, func(i, j int) bool { return rep.Firings[i].First().Before(rep.Firings[j].First()) })
	return rep, nil
}

// watchKey is a watched series' labels as promtool printed them, without the target's (instance, job).
func watchKey(labels string) string {
	var kept []string
	for _, l := range labelRE.FindAllStringSubmatch(labels, -1) {
		if l[1] != "instance" && l[1] != "job" {
			kept = append(kept, l[0])
		}
	}
	return "{" + strings.Join(kept, ", ") + "}"
}

// durationRE matches one unit of a Prometheus duration as promtool prints it (1y2w3d4h5m6s7ms).
var durationRE = regexp.MustCompile(`([0-9]+)(ms|y|w|d|h|m|s)`)

func parseDuration(s string) (time.Duration, error) {
	units := map[string]time.Duration{"y": 365 * 24 * time.Hour, "w": 7 * 24 * time.Hour, "d": 24 * time.Hour,
		"h": time.Hour, "m": time.Minute, "s": time.Second, "ms": time.Millisecond}
	var d time.Duration
	rest := s
	for _, m := range durationRE.FindAllStringSubmatch(s, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, err
		}
		d += time.Duration(n) * units[m[2]]
		rest = strings.Replace(rest, m[0], "", 1)
	}
	if rest != "" || s == "" {
		return 0, fmt.Errorf("duration %q", s)
	}
	return d, nil
}
