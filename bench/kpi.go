package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// The KPI scope: the last twelve months of the data, by business unit (the total, the groups and
// the previous twelve months, as the engine always answers beside the previous period).
var (
	kpiFrom  = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	kpiTo    = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	kpiPrev  = time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	kpiScope = kpi.Scope{From: kpiFrom, To: kpiTo, GroupBy: []string{"business_unit"}}
	// kpiMonthly adds each group's own monthly series (a breakdown with a series).
	kpiMonthly = kpi.Scope{From: kpiFrom, To: kpiTo, GroupBy: kpiScope.GroupBy, Grain: kpi.GrainMonth}
	// kpiRegionMonthly is conversion by region by month: one funnel by region, each region with its
	// own monthly series.
	kpiRegionMonthly = kpi.Scope{From: kpiFrom, To: kpiTo, GroupBy: []string{"region"}, Grain: kpi.GrainMonth}
)

const (
	gScope = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT]}`
	// gMonthly is kpiMonthly.
	gMonthly = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT], grain: MONTH}`
	// gRegionMonthly is kpiRegionMonthly.
	gRegionMonthly = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [REGION], grain: MONTH}`
	gKV            = `{ value previous change relChange n previousN }`
	gDur           = `{ p50Days ` + gKV + ` p90Days ` + gKV + ` meanDays ` + gKV + ` }`
	gCycle         = `{ sales ` + gDur + ` delivery ` + gDur + ` cash ` + gDur + ` leadToCash ` + gDur + ` }`
	gFunnel        = `{ stages { stage reached ` + gKV + ` fromPrevious ` + gKV + ` fromTop ` + gKV + ` } }`
	gStream        = `{ bottleneck cases ` + gKV + ` stages { stage share ` + gKV + ` medianDays ` + gKV + ` p90Days ` + gKV + ` rework ` + gKV + ` cases ` + gKV + ` } }`
	gAdopt         = `{ rate ` + gKV + ` coverage ` + gKV + ` template ` + gKV + ` ironTriangle ` + gKV + ` }`
	gCompl         = `{ rate ` + gKV + ` promiseKept ` + gKV + ` gates { gate guards entered ` + gKV + ` compliant ` + gKV + ` rate ` + gKV + ` missing ` + gKV + ` failed ` + gKV + ` late ` + gKV + ` } }`
	gCash          = `{ billed ` + gKV + ` collected ` + gKV + ` receivables ` + gKV + ` overdueShare ` + gKV + ` dsoDays ` + gKV + ` collectionRate ` + gKV + ` }`
	// gL2C is the value stream's cycle argument: lead to cash, as the engine call and the naive SQL
	// (the field's default cycle is SALES).
	gL2C = `, cycle: LEAD_TO_CASH`
)

// gq is the request of field over the KPI scope: the total and each group's result. args are the
// field's further arguments, each starting with ", ".
func gq(field, result string, args ...string) string { return gqIn(field, gScope, result, "", args) }

// gqSeries is the request of field over a scope with a grain (gMonthly, gRegionMonthly): gq's
// plus the total's and each group's series.
func gqSeries(scope, field, result string, args ...string) string {
	return gqIn(field, scope, result, ` series { start result `+result+` }`, args)
}

func gqIn(field, scope, result, series string, args []string) string {
	return `{ ` + field + `(scope: ` + scope + strings.Join(args, "") + `) { total ` + result + series + ` groups { key { dimension value } result ` + result + series + ` } } }`
}

// family is one KPI family: its GraphQL request and the same engine call. Its naive answer, plain
// SQL over the raw tables (window functions and per-event scans, no derived tables) with $1 =
// from, $2 = start of the previous period, $3 = to, is schema/kpi/testdata/naive/<name>.sql: the
// same file schema/kpi's benchmarks run.
type family struct {
	name   string
	query  string
	direct func(ctx context.Context, e *kpi.Engine) (any, error)
	naive  string // filled by loadNaive
}

var families = []family{
	{name: "funnel", query: gq("funnel", gFunnel), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Funnel(ctx, kpiScope, nil) }},
	// Conversion by region by month: one request, where users wrote five aliased funnels before
	// groups carried their own series.
	{name: "funnelByRegionMonthly", query: gqSeries(gRegionMonthly, "funnel", gFunnel), direct: func(ctx context.Context, e *kpi.Engine) (any, error) {
		return e.Funnel(ctx, kpiRegionMonthly, nil)
	}},
	{name: "leadConversion", query: gq("leadConversion", gKV), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.LeadConversion(ctx, kpiScope) }},
	{name: "winRate", query: gq("winRate", gKV), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.WinRate(ctx, kpiScope) }},
	{name: "cycleTimes", query: gq("cycleTimes", gCycle), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.CycleTimes(ctx, kpiScope) }},
	{name: "valueStream", query: gq("valueStream", gStream, gL2C), direct: func(ctx context.Context, e *kpi.Engine) (any, error) {
		return e.ValueStreamOf(ctx, kpiScope, kpi.CycleLeadToCash)
	}},
	// Value stream by business unit, each unit with its own monthly series.
	{name: "valueStreamByUnit", query: gqSeries(gMonthly, "valueStream", gStream, gL2C), direct: func(ctx context.Context, e *kpi.Engine) (any, error) {
		return e.ValueStreamOf(ctx, kpiMonthly, kpi.CycleLeadToCash)
	}},
	{name: "adoption", query: gq("adoption", gAdopt), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Adoption(ctx, kpiScope) }},
	{name: "compliance", query: gq("compliance", gCompl), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Compliance(ctx, kpiScope) }},
	{name: "cash", query: gq("cash", gCash), direct: func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Cash(ctx, kpiScope) }},
}

// loadNaive reads each family's naive SQL from the repository at repo.
func loadNaive(repo string) ([]family, error) {
	out := slices.Clone(families)
	for i := range out {
		b, err := os.ReadFile(filepath.Join(repo, "schema/kpi/testdata/naive", out[i].name+".sql"))
		if err != nil {
			return nil, fmt.Errorf("naive SQL of %s: %w", out[i].name, err)
		}
		out[i].naive = string(b)
	}
	return out, nil
}

// runNaive runs a naive query and returns every row.
func runNaive(ctx context.Context, db *sql.DB, q string) ([][]any, error) {
	rows, err := db.QueryContext(ctx, q, kpiFrom, kpiPrev, kpiTo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// post sends a GraphQL request body to h and fails on an error response.
func post(h http.Handler, body []byte) error {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
		return fmt.Errorf("HTTP %d: %.300s", rec.Code, rec.Body.String())
	}
	return nil
}

// timeIt runs f once to warm up, then reps times, and returns the median.
func timeIt(reps int, f func() error) (time.Duration, error) {
	if err := f(); err != nil {
		return 0, err
	}
	var ds []time.Duration
	for i := 0; i < reps; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

// benchKPI times every family through GraphQL (uncached), the naive SQL, the engine directly and
// the cached repeat, and checks that naive and engine agree on the headline numbers.
func benchKPI(ctx context.Context, path, repo string, d *data, t *table, size string, reps int, log *slog.Logger) error {
	fams, err := loadNaive(repo)
	if err != nil {
		return err
	}
	db, err := schema.Open(ctx, path, schema.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	direct := kpi.New(db, d.model, d.kpiOptions(-1))
	cachedEng := kpi.New(db, d.model, d.kpiOptions(0))
	quiet := slog.New(slog.DiscardHandler)
	hopts := graph.HandlerOptions{Logger: quiet, Timeout: 10 * time.Minute}
	uncached := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, KPI: direct, Logger: quiet}), hopts)
	hopts.DataVersion = db.Version
	cached := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, KPI: cachedEng, Logger: quiet}), hopts)
	for _, f := range fams {
		body, _ := json.Marshal(map[string]string{"query": f.query})
		var tg, tn, td, tc time.Duration
		// Interleave the sides so machine noise hits them alike.
		var gs, ns, ds, cs []time.Duration
		for i := 0; i <= reps; i++ {
			for _, side := range []struct {
				out *[]time.Duration
				run func() error
			}{
				{&gs, func() error { return post(uncached, body) }},
				{&ns, func() error { _, err := runNaive(ctx, db.Read, f.naive); return err }},
				{&ds, func() error { _, err := f.direct(ctx, direct); return err }},
			} {
				start := time.Now()
				if err := side.run(); err != nil {
					return fmt.Errorf("%s: %w", f.name, err)
				}
				if i > 0 { // the first round warms up
					*side.out = append(*side.out, time.Since(start))
				}
			}
		}
		tg, tn, td = median(gs), median(ns), median(ds)
		if tc, err = timeIt(reps*20, func() error { return post(cached, body) }); err != nil {
			return err
		}
		_ = cs
		row := "KPI " + f.name + ": GraphQL uncached · naive SQL · engine direct · GraphQL cached"
		t.set(row, size, fmt.Sprintf("%s · %s · %s · %s", ms(tg), ms(tn), ms(td), ms(tc)))
		t.target(row, "cached < 1 ms")
		row = "KPI " + f.name + ": ltc/naive · ltc/direct"
		t.set(row, size, ratio(tg, tn, 0.2)+" · "+ratio(tg, td, 1.25))
		t.target(row, "≤ 0.2 · ≤ 1.25")
		log.Info("kpi", "size", size, "family", f.name, "graphql_ms", ms(tg), "naive_ms", ms(tn), "direct_ms", ms(td), "cached_ms", ms(tc))
	}
	row := "naive SQL = ltc (funnel reach, win rate, sales cycle p50, compliance rate)"
	t.set(row, size, checkAgreement(ctx, db, direct, fams))
	t.target(row, "agree")
	return nil
}

// checkAgreement compares headline numbers of the naive SQL and the engine (current period, total).
func checkAgreement(ctx context.Context, db *schema.DB, e *kpi.Engine, fams []family) string {
	var bad []string
	find := func(name string) family {
		for _, f := range fams {
			if f.name == name {
				return f
			}
		}
		panic(name)
	}
	num := func(v any) float64 {
		switch x := v.(type) {
		case int64:
			return float64(x)
		case int32:
			return float64(x)
		case float64:
			return x
		case bool:
			if x {
				return 1
			}
			return 0
		}
		return math.NaN()
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }
	checked := 0
	// Funnel reach per stage.
	if rows, err := runNaive(ctx, db.Read, find("funnel").naive); err != nil {
		bad = append(bad, "funnel: "+err.Error())
	} else if f, err := e.Funnel(ctx, kpiScope, nil); err != nil {
		bad = append(bad, "funnel: "+err.Error())
	} else {
		reach := map[string]float64{}
		for _, r := range rows {
			if num(r[1]) == 0 && num(r[3]) == 1 {
				reach[fmt.Sprint(r[0])] = num(r[4])
			}
		}
		for _, st := range f.Total.Stages {
			checked++
			if !near(reach[st.Stage], st.Reached.Value) {
				bad = append(bad, fmt.Sprintf("funnel %s %v≠%v", st.Stage, reach[st.Stage], st.Reached.Value))
			}
		}
	}
	// Win rate.
	if rows, err := runNaive(ctx, db.Read, find("winRate").naive); err != nil {
		bad = append(bad, "winRate: "+err.Error())
	} else if w, err := e.WinRate(ctx, kpiScope); err != nil {
		bad = append(bad, "winRate: "+err.Error())
	} else {
		for _, r := range rows {
			if num(r[0]) == 0 && num(r[2]) == 1 {
				checked++
				if v := num(r[4]) / num(r[3]); !near(v, w.Total.Value) {
					bad = append(bad, fmt.Sprintf("win rate %.6f≠%.6f", v, w.Total.Value))
				}
			}
		}
	}
	// Sales cycle p50.
	if rows, err := runNaive(ctx, db.Read, find("cycleTimes").naive); err != nil {
		bad = append(bad, "cycleTimes: "+err.Error())
	} else if c, err := e.CycleTimes(ctx, kpiScope); err != nil {
		bad = append(bad, "cycleTimes: "+err.Error())
	} else {
		for _, r := range rows {
			if fmt.Sprint(r[0]) == "sales" && num(r[1]) == 1 && num(r[3]) == 1 {
				checked++
				if v := num(r[5]); !near(v, c.Total.Sales.P50.Value) {
					bad = append(bad, fmt.Sprintf("sales p50 %.6f≠%.6f", v, c.Total.Sales.P50.Value))
				}
			}
		}
	}
	// Compliance rate.
	if rows, err := runNaive(ctx, db.Read, find("compliance").naive); err != nil {
		bad = append(bad, "compliance: "+err.Error())
	} else if c, err := e.Compliance(ctx, kpiScope); err != nil {
		bad = append(bad, "compliance: "+err.Error())
	} else {
		var ok, all float64
		for _, r := range rows {
			if fmt.Sprint(r[0]) == "all" && num(r[1]) == 1 && num(r[3]) == 1 {
				all += num(r[5])
				if fmt.Sprint(r[4]) == "false" {
					ok += num(r[5])
				}
			}
		}
		checked++
		if !near(ok/all, c.Total.Rate.Value) {
			bad = append(bad, fmt.Sprintf("compliance rate %.6f≠%.6f", ok/all, c.Total.Rate.Value))
		}
	}
	if len(bad) > 0 {
		return "✗ " + strings.Join(bad, "; ")
	}
	return fmt.Sprintf("✓ %d numbers agree", checked)
}
