package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/internal/testenv"
)

const (
	rulesDir   = "../../dashboards/prometheus"
	grafanaDir = "../../dashboards/grafana"
)

// TestAlertRulesPromtool runs `promtool check rules` and `promtool test rules` (a case for every
// alert, firing and not firing) on the shipped rules, and checks the example Prometheus config.
func TestAlertRulesPromtool(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "Debian package prometheus")
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"test", "rules", "alerts_quarter_test.yml"},
		{"check", "config", "prometheus.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = rulesDir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// Every alert has a test case (promtool does not require one).
	rules := loadRules(t)
	tests, err := os.ReadFile(filepath.Join(rulesDir, "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var tf struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(tests, &tf); err != nil {
		t.Fatal(err)
	}
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !firing[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s: test cases firing %v, not firing %v; want both", r.Alert, firing[r.Alert], quiet[r.Alert])
			}
			for _, k := range []string{"summary", "description"} {
				if r.Annotations[k] == "" {
					t.Errorf("alert %s has no %s", r.Alert, k)
				}
			}
			if d := r.Annotations["description"]; !strings.Contains(d, "$value") || !strings.Contains(d, "Runbook") {
				t.Errorf("alert %s: description must show {{ $value }} and a runbook hint: %q", r.Alert, d)
			}
		}
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(rulesDir, "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	return rf
}

// promqlNames returns the metric names an expression selects. It is a small lexer, not a parser:
// strings, label matchers, range and offset durations and by/on/… label lists are removed, then
// every identifier not followed by "(" (a function) and not a keyword is a metric name. Grafana's
// label_values(metric, label) keeps its metric.
func promqlNames(expr string) []string {
	expr = matcherRE.ReplaceAllString(stringRE.ReplaceAllString(expr, " "), " ")
	if m := labelValuesRE.FindStringSubmatch(expr); m != nil {
		expr = m[1]
	}
	for _, re := range []*regexp.Regexp{labelListRE, rangeRE, offsetRE} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var out []string
	for _, loc := range tokenRE.FindAllStringIndex(expr, -1) {
		tok := expr[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' || promqlKeywords[strings.ToLower(tok)] {
			continue
		}
		if rest := strings.TrimLeft(expr[loc[1]:], " \t\n"); strings.HasPrefix(rest, "(") {
			continue // a function or aggregation
		}
		out = append(out, tok)
	}
	return out
}

var (
	labelValuesRE  = regexp.MustCompile(`^\s*label_values\(\s*([^,]+?)\s*,[^)]*\)\s*$`)
	stringRE       = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	matcherRE      = regexp.MustCompile(`\{[^}]*\}`)
	labelListRE    = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	rangeRE        = regexp.MustCompile(`\[[^\]]*\]`)
	offsetRE       = regexp.MustCompile(`\boffset\s+-?[0-9a-zA-Z]+`)
	tokenRE        = regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?[a-z]*|[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"inf": true, "nan": true, "by": true, "without": true, "on": true, "ignoring": true,
		"group_left": true, "group_right": true, "atan2": true}
)

func TestPromqlNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`(ltc:kpi_ratio / (ltc:kpi_ratio offset 1w) - 1) < -0.20`:                                      {"ltc:kpi_ratio", "ltc:kpi_ratio"},
		`label_replace(a_ratio{x="y"}, "kpi", "lead_conversion", "", "") or b_total`:                   {"a_ratio", "b_total"},
		`histogram_quantile(0.9, sum by (etl_job, le) (rate(d_bucket{job="$job"}[6h])))`:               {"d_bucket"},
		`increase(r_total{status="failed"}[1h]) > 0 unless ignoring(status) (s >= t)`:                  {"r_total", "s", "t"},
		`time() - x_seconds > 6 * 3600 and on(instance) y == bool 1e3`:                                 {"x_seconds", "y"},
		`label_values(ltc_kpi_lead_conversion_ratio{job="$job", instance="$instance"}, business_unit)`: {"ltc_kpi_lead_conversion_ratio"},
		`avg_over_time(m[28d:5m]) * 1000`:                                                              {"m"},
	} {
		if got := promqlNames(expr); !slices.Equal(got, want) {
			t.Errorf("promqlNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// grafanaQueries returns every PromQL expression of a Grafana dashboard: panel targets' expr
// (nested rows included) and the templating variables' queries.
func grafanaQueries(t *testing.T, path string) (uid string, exprs []string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	uid, _ = d["uid"].(string)
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, k)
			}
		case []any:
			for _, x := range v {
				walk(x, key)
			}
		case string:
			if key == "expr" || key == "query" && strings.HasPrefix(strings.TrimSpace(v), "label_values(") {
				exprs = append(exprs, v)
			}
		}
	}
	walk(d["panels"], "")
	walk(d["templating"], "")
	return uid, exprs
}

// TestDashboardsUseExportedMetrics checks that every metric the alert rules and the Grafana
// dashboards name is one the binary exports: the registry openApp builds (Go, process, ETL and KPI
// metrics) after loading the small demo and refreshing the KPI gauges.
func TestDashboardsUseExportedMetrics(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := synth.Generate(ctx, dir, synth.Options{Size: "small", Seed: 1, Now: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(ctx, sum.Config, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.kpiMetrics.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	mfs, err := a.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, mf := range mfs {
		n := mf.GetName()
		exported[n] = true
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM:
			exported[n+"_bucket"], exported[n+"_sum"], exported[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			exported[n+"_sum"], exported[n+"_count"] = true, true
		}
	}
	// Series Prometheus makes itself, and the rules' recorded series.
	known := map[string]bool{"up": true, "ALERTS": true, "ALERTS_FOR_STATE": true, "scrape_duration_seconds": true}
	rules := loadRules(t)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}

	used := map[string]bool{}
	check := func(where, expr string) {
		names := promqlNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric found in %q", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] && !known[n] {
				t.Errorf("%s: %s is not exported by ltc (expr %q)", where, n, expr)
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			check("alerts.yml "+r.Alert+r.Record, r.Expr)
		}
	}
	uids := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(grafanaDir, "*.json"))
	if len(files) < 2 {
		t.Fatalf("want a KPI and an operations dashboard in %s, found %v", grafanaDir, files)
	}
	for _, f := range files {
		uid, exprs := grafanaQueries(t, f)
		if uid == "" || uids[uid] != "" {
			t.Errorf("%s: uid %q missing or shared with %s", f, uid, uids[uid])
		}
		uids[uid] = f
		if len(exprs) < 5 {
			t.Errorf("%s: only %d queries", f, len(exprs))
		}
		for _, e := range exprs {
			check(filepath.Base(f), e)
		}
	}
	// And the other way round: every ltc metric appears in a dashboard or a rule.
	for n := range exported {
		if strings.HasPrefix(n, "ltc_") && !used[n] && !strings.HasSuffix(n, "_bucket") && !strings.HasSuffix(n, "_sum") &&
			!strings.HasSuffix(n, "_count") && !used[n+"_bucket"] {
			t.Errorf("%s is exported but no dashboard or rule shows it", n)
		}
	}
}
