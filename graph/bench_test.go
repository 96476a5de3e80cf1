package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// The benchmarks compare, per KPI family at the medium demo size (100k leads), the GraphQL request
// end to end with the engine's cache off, the same engine call directly (the floor the API adds
// to), the cached repeat through the engine alone (directCached) and through GraphQL (cached). Targets (DESIGN §6): graphql/direct ≤ 1.25, cached < 1 ms.
//
//	go test ./graph -run '^$' -bench . -benchtime 20x

var benchNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type benchWorld struct {
	once     sync.Once
	err      error
	db       *schema.DB
	direct   *kpi.Engine  // cache off
	cache    *kpi.Engine  // default cache
	uncached http.Handler // over direct
	cached   http.Handler // over an engine with the default cache
}

var medium benchWorld

// mediumData returns the synthetic medium data set, generated once under os.TempDir() and reused.
func mediumData(ctx context.Context) (string, error) {
	dir := filepath.Join(os.TempDir(), "ltc-bench-medium")
	cfg := filepath.Join(dir, "ltc.yaml")
	if _, err := os.Stat(cfg); err == nil {
		return cfg, nil
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "ltc-bench-medium-*")
	if err != nil {
		return "", err
	}
	if _, err := synth.Generate(ctx, tmp, synth.Options{Size: "medium", Seed: 1, Now: benchNow}); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	return cfg, nil
}

func (w *benchWorld) build() error {
	ctx := context.Background()
	path, err := mediumData(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	model, err := cfg.Model()
	if err != nil {
		return err
	}
	w.db, err = schema.Open(ctx, "", schema.Options{})
	if err != nil {
		return err
	}
	opts := kpi.Options{SprintAnchor: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Now: func() time.Time { return benchNow }}
	cachedEng := kpi.New(w.db, model, opts)
	w.cache = cachedEng
	opts.CacheSize = -1
	w.direct = kpi.New(w.db, model, opts)
	r := etl.NewRunner(etl.Options{DB: w.db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve,
		DeriveEvents: cfg.ETL.DeriveEvents, Refresh: w.direct.Refresh})
	if _, err := r.RunAll(ctx); err != nil {
		return err
	}
	hopts := HandlerOptions{ErrorCodes: kpiCodes(), Logger: quietLogger(), Timeout: time.Minute}
	w.uncached = NewHandler(NewResolver(Deps{DB: w.db, KPI: w.direct, Logger: quietLogger()}), hopts)
	w.cached = NewHandler(NewResolver(Deps{DB: w.db, KPI: cachedEng, Logger: quietLogger()}), hopts)
	return nil
}

func benchWorldFor(b *testing.B) *benchWorld {
	b.Helper()
	medium.once.Do(func() { medium.err = medium.build() })
	if medium.err != nil {
		b.Fatal(medium.err)
	}
	return &medium
}

// benchScope is a dashboard-like scope: ten months by business unit, monthly series.
var benchScope = kpi.Scope{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	GroupBy: []string{"business_unit"}, Grain: kpi.GrainMonth}

const (
	bScope  = `{from: "2026-01-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT], grain: MONTH}`
	bList   = `{from: "2026-01-01T00:00:00Z", to: "2026-11-01T00:00:00Z"}`
	bKV     = `{ value previous change relChange n previousN }`
	bDur    = `{ p50Days ` + bKV + ` p90Days ` + bKV + ` meanDays ` + bKV + ` }`
	bCycle  = `{ sales ` + bDur + ` delivery ` + bDur + ` cash ` + bDur + ` leadToCash ` + bDur + ` }`
	bFunnel = `{ stages { stage reached ` + bKV + ` fromPrevious ` + bKV + ` fromTop ` + bKV + ` } }`
	bStream = `{ bottleneck cases ` + bKV + ` stages { stage share ` + bKV + ` medianDays ` + bKV + ` p90Days ` + bKV + ` rework ` + bKV + ` cases ` + bKV + ` } }`
	bAdopt  = `{ rate ` + bKV + ` coverage ` + bKV + ` template ` + bKV + ` ironTriangle ` + bKV + ` }`
	bCompl  = `{ rate ` + bKV + ` promiseKept ` + bKV + ` gates { gate guards entered ` + bKV + ` compliant ` + bKV + ` rate ` + bKV + ` missing ` + bKV + ` failed ` + bKV + ` late ` + bKV + ` } }`
	bCash   = `{ billed ` + bKV + ` collected ` + bKV + ` receivables ` + bKV + ` overdueShare ` + bKV + ` dsoDays ` + bKV + ` collectionRate ` + bKV + ` }`
)

func bd(field, result string) string {
	return `{ ` + field + ` { total ` + result + ` groups { key { dimension value } result ` + result + ` } series { start result ` + result + ` } } }`
}

// benchFamilies pairs each family's GraphQL request with the same engine call.
var benchFamilies = []struct {
	name   string
	query  string
	direct func(ctx context.Context, e *kpi.Engine) error
}{
	{"funnel", bd(`funnel(scope: `+bScope+`)`, bFunnel), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Funnel(ctx, benchScope, nil)
		return err
	}},
	{"leadConversion", bd(`leadConversion(scope: `+bScope+`)`, bKV), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.LeadConversion(ctx, benchScope)
		return err
	}},
	{"winRate", bd(`winRate(scope: `+bScope+`)`, bKV), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.WinRate(ctx, benchScope)
		return err
	}},
	{"wonValue", bd(`wonValue(scope: `+bScope+`)`, bKV), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.WonValue(ctx, benchScope)
		return err
	}},
	{"cycleTimes", bd(`cycleTimes(scope: `+bScope+`)`, bCycle), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.CycleTimes(ctx, benchScope)
		return err
	}},
	{"valueStream", bd(`valueStream(scope: `+bScope+`, cycle: LEAD_TO_CASH)`, bStream), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.ValueStreamOf(ctx, benchScope, kpi.CycleLeadToCash)
		return err
	}},
	{"variants", `{ variants(scope: ` + bList + `, top: 10) { distinct cases top { stages cases medianDays } } }`, func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Variants(ctx, kpi.Scope{From: benchScope.From, To: benchScope.To}, 10)
		return err
	}},
	{"adoption", bd(`adoption(scope: `+bScope+`)`, bAdopt), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Adoption(ctx, benchScope)
		return err
	}},
	{"compliance", bd(`compliance(scope: `+bScope+`)`, bCompl), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Compliance(ctx, benchScope)
		return err
	}},
	{"violations", `{ violations(scope: ` + bList + `, first: 100) { nodes { caseId gate kind enteredAt owner businessUnit } pageInfo { hasNextPage endCursor } } }`, func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Violations(ctx, kpi.Scope{From: benchScope.From, To: benchScope.To}, 100, "")
		return err
	}},
	{"cash", bd(`cash(scope: `+bScope+`)`, bCash), func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Cash(ctx, benchScope)
		return err
	}},
	{"cases", `{ cases(scope: ` + bList + `, filter: {stageReached: "contract_signed"}, first: 100) { nodes { id businessUnit owner startedAt furthestStage adopted status } pageInfo { hasNextPage endCursor } } }`, func(ctx context.Context, e *kpi.Engine) error {
		_, err := e.Cases(ctx, kpi.Scope{From: benchScope.From, To: benchScope.To}, kpi.CaseFilter{StageReached: "contract_signed"}, 100, "")
		return err
	}},
}

// serve posts a pre-encoded request body to h and fails on an error response.
func serve(b *testing.B, h http.Handler, body []byte) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
		b.Fatalf("HTTP %d: %.500s", rec.Code, rec.Body.String())
	}
}

func BenchmarkKPIMedium(b *testing.B) {
	w := benchWorldFor(b)
	ctx := context.Background()
	for _, f := range benchFamilies {
		body, _ := json.Marshal(map[string]string{"query": f.query})
		b.Run(f.name+"/graphql", func(b *testing.B) {
			for b.Loop() {
				serve(b, w.uncached, body)
			}
		})
		b.Run(f.name+"/direct", func(b *testing.B) {
			for b.Loop() {
				if err := f.direct(ctx, w.direct); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/directCached", func(b *testing.B) {
			for b.Loop() {
				if err := f.direct(ctx, w.cache); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(f.name+"/cached", func(b *testing.B) {
			serve(b, w.cached, body) // warm
			for b.Loop() {
				serve(b, w.cached, body)
			}
		})
	}
}

// naiveRows runs one of schema/kpi's naive SQL files ($1 = from, $2 = start of the previous period,
// $3 = to) over w's warehouse and reads every row.
func (w *benchWorld) naiveRows(ctx context.Context, q string, from, prev, to time.Time) error {
	rows, err := w.db.Read.QueryContext(ctx, q, from, prev, to)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// The make bench KPI scope (bench/kpi.go): the last twelve months by business unit, with the monthly
// series for the by-unit value stream.
const (
	mbScope   = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT]}`
	mbMonthly = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT], grain: MONTH}`
)

var (
	mbFrom, mbTo, mbPrev = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)
	mbKPIScope = kpi.Scope{From: mbFrom, To: mbTo, GroupBy: []string{"business_unit"}}
)

func mbQuery(field, scope, result, series string) string {
	return `{ ` + field + `(scope: ` + scope + `) { total ` + result + series + ` groups { key { dimension value } result ` + result + series + ` } } }`
}

// BenchmarkGraphQLVsNaive runs make bench's rows for value stream (by unit with monthly series),
// win rate and cash in one loop each: the GraphQL request (engine cache off), the same engine call
// and the family's naive SQL (schema/kpi/testdata/naive), alternating so load hits them alike. It
// reports each side's median and the ratios graphql/naive and graphql/direct.
//
//	go test -run '^$' -bench BenchmarkGraphQLVsNaive -benchtime 5x ./graph/
func BenchmarkGraphQLVsNaive(b *testing.B) {
	monthly := mbKPIScope
	monthly.Grain = kpi.GrainMonth
	for _, f := range []struct {
		name, naive, query string
		direct             func(ctx context.Context, e *kpi.Engine) error
	}{
		{"valueStream", "valueStream", mbQuery(`valueStream`, mbScope+`, cycle: LEAD_TO_CASH`, bStream, ""),
			func(ctx context.Context, e *kpi.Engine) error {
				_, err := e.ValueStreamOf(ctx, mbKPIScope, kpi.CycleLeadToCash)
				return err
			}},
		{"valueStreamByUnit", "valueStreamByUnit", mbQuery(`valueStream`, mbMonthly+`, cycle: LEAD_TO_CASH`, bStream, ` series { start result `+bStream+` }`),
			func(ctx context.Context, e *kpi.Engine) error {
				_, err := e.ValueStreamOf(ctx, monthly, kpi.CycleLeadToCash)
				return err
			}},
		{"winRate", "winRate", mbQuery(`winRate`, mbScope, bKV, ""), func(ctx context.Context, e *kpi.Engine) error {
			_, err := e.WinRate(ctx, mbKPIScope)
			return err
		}},
		{"cash", "cash", mbQuery(`cash`, mbScope, bCash, ""), func(ctx context.Context, e *kpi.Engine) error {
			_, err := e.Cash(ctx, mbKPIScope)
			return err
		}},
	} {
		b.Run(f.name, func(b *testing.B) {
			w := benchWorldFor(b)
			ctx := context.Background()
			naive, err := os.ReadFile(filepath.Join("..", "schema", "kpi", "testdata", "naive", f.naive+".sql"))
			if err != nil {
				b.Fatal(err)
			}
			body, _ := json.Marshal(map[string]string{"query": f.query})
			var gs, ds, ns []time.Duration
			for b.Loop() {
				for _, side := range []struct {
					out *[]time.Duration
					run func() error
				}{
					{&gs, func() error { serve(b, w.uncached, body); return nil }},
					{&ds, func() error { return f.direct(ctx, w.direct) }},
					{&ns, func() error { return w.naiveRows(ctx, string(naive), mbFrom, mbPrev, mbTo) }},
				} {
					start := time.Now()
					if err := side.run(); err != nil {
						b.Fatal(err)
					}
					*side.out = append(*side.out, time.Since(start))
				}
			}
			g, d, n := medianOf(gs), medianOf(ds), medianOf(ns)
			b.ReportMetric(float64(g.Microseconds())/1000, "graphql-ms")
			b.ReportMetric(float64(d.Microseconds())/1000, "direct-ms")
			b.ReportMetric(float64(n.Microseconds())/1000, "naive-ms")
			b.ReportMetric(float64(g)/float64(n), "graphql/naive")
			b.ReportMetric(float64(g)/float64(d), "graphql/direct")
		})
	}
}

// medianOf returns the median of ds (the upper one for an even count).
func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkGraphQLValueStreamByUnit is the by-unit value stream request alone, for a CPU or
// allocation profile of the GraphQL path: engine cache off (uncached), and over an engine that
// answers from its cache (engineCached: the API's own cost, resolvers to JSON):
//
//	go test -run '^$' -bench BenchmarkGraphQLValueStreamByUnit -benchtime 20x -benchmem -cpuprofile /tmp/vs.prof ./graph/
func BenchmarkGraphQLValueStreamByUnit(b *testing.B) {
	w := benchWorldFor(b)
	body, _ := json.Marshal(map[string]string{"query": mbQuery(`valueStream`, mbMonthly+`, cycle: LEAD_TO_CASH`, bStream, ` series { start result `+bStream+` }`)})
	b.Run("uncached", func(b *testing.B) {
		for b.Loop() {
			serve(b, w.uncached, body)
		}
	})
	b.Run("engineCached", func(b *testing.B) {
		serve(b, w.cached, body) // fills the engine's cache
		for b.Loop() {
			serve(b, w.cached, body)
		}
	})
}

// BenchmarkGraphQLWinRate is make bench's win rate request alone (engine cache off), for a CPU
// profile of the per-request fixed costs.
func BenchmarkGraphQLWinRate(b *testing.B) {
	w := benchWorldFor(b)
	body, _ := json.Marshal(map[string]string{"query": mbQuery(`winRate`, mbScope, bKV, "")})
	for b.Loop() {
		serve(b, w.uncached, body)
	}
}
