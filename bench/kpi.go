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
)

const (
	gScope  = `{from: "2025-11-01T00:00:00Z", to: "2026-11-01T00:00:00Z", groupBy: [BUSINESS_UNIT]}`
	gKV     = `{ value previous change relChange n previousN }`
	gDur    = `{ p50Days ` + gKV + ` p90Days ` + gKV + ` meanDays ` + gKV + ` }`
	gCycle  = `{ sales ` + gDur + ` delivery ` + gDur + ` cash ` + gDur + ` leadToCash ` + gDur + ` }`
	gFunnel = `{ stages { stage reached ` + gKV + ` fromPrevious ` + gKV + ` fromTop ` + gKV + ` } }`
	gStream = `{ bottleneck cases ` + gKV + ` stages { stage share ` + gKV + ` medianDays ` + gKV + ` p90Days ` + gKV + ` rework ` + gKV + ` cases ` + gKV + ` } }`
	gAdopt  = `{ rate ` + gKV + ` coverage ` + gKV + ` template ` + gKV + ` ironTriangle ` + gKV + ` }`
	gCompl  = `{ rate ` + gKV + ` promiseKept ` + gKV + ` gates { gate guards entered ` + gKV + ` compliant ` + gKV + ` rate ` + gKV + ` missing ` + gKV + ` failed ` + gKV + ` late ` + gKV + ` } }`
	gCash   = `{ billed ` + gKV + ` collected ` + gKV + ` receivables ` + gKV + ` overdueShare ` + gKV + ` dsoDays ` + gKV + ` collectionRate ` + gKV + ` }`
)

func gq(field, result string) string {
	return `{ ` + field + `(scope: ` + gScope + `) { total ` + result + ` groups { key { dimension value } result ` + result + ` } } }`
}

// family is one KPI family: its GraphQL request, the same engine call, and the naive answer as
// plain SQL over the raw tables (window functions and per-event scans, no derived tables), with
// $1 = from, $2 = start of the previous period, $3 = to.
type family struct {
	name   string
	query  string
	direct func(ctx context.Context, e *kpi.Engine) (any, error)
	naive  string
}

// The naive SQL follows the engine's definitions (schema/kpi's benchmarks hold the same queries).
const naiveCase = `LEFT JOIN opportunities o ON o.opportunity_id = %[1]s.case_id LEFT JOIN leads l ON l.lead_id = %[1]s.case_id`

var families = []family{
	{"funnel", gq("funnel", gFunnel), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Funnel(ctx, kpiScope, nil) },
		`WITH cs AS (SELECT case_id, min(occurred_at) AS start FROM stage_events GROUP BY case_id),
		  coh AS (SELECT case_id, CASE WHEN start >= $1 THEN 0 ELSE 1 END AS p FROM cs WHERE start >= $2 AND start < $3),
		  r AS (SELECT DISTINCT e.case_id, e.stage FROM stage_events e SEMI JOIN coh USING (case_id) WHERE e.stage IS NOT NULL
		        UNION ALL SELECT case_id, '' FROM coh),
		  a AS (SELECT r.stage, coh.p, coalesce(o.business_unit, l.business_unit) AS bu FROM r JOIN coh USING (case_id) ` + naiveCaseR + `)
		SELECT stage, p, bu, grouping(bu) AS total, count(*) FROM a GROUP BY GROUPING SETS ((stage, p), (stage, p, bu))`},
	{"leadConversion", gq("leadConversion", gKV), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.LeadConversion(ctx, kpiScope) },
		`SELECT p, business_unit, grouping(business_unit), count(*), count(*) FILTER (WHERE opportunity_id IS NOT NULL OR converted_at IS NOT NULL)
		FROM (SELECT CASE WHEN created_at >= $1 THEN 0 ELSE 1 END AS p, * FROM leads WHERE created_at >= $2 AND created_at < $3)
		GROUP BY GROUPING SETS ((p), (p, business_unit))`},
	{"winRate", gq("winRate", gKV), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.WinRate(ctx, kpiScope) },
		`WITH cs AS (SELECT case_id FROM stage_events GROUP BY case_id),
		  c AS (SELECT CASE WHEN o.closed_at >= $1 THEN 0 ELSE 1 END AS p, o.business_unit AS bu, o.status
		        FROM opportunities o SEMI JOIN cs ON cs.case_id = o.opportunity_id
		        WHERE o.status IN ('won', 'lost') AND o.closed_at >= $2 AND o.closed_at < $3)
		SELECT p, bu, grouping(bu) AS total, count(*), count(*) FILTER (WHERE status = 'won') FROM c GROUP BY GROUPING SETS ((p), (p, bu))`},
	{"cycleTimes", gq("cycleTimes", gCycle), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.CycleTimes(ctx, kpiScope) },
		`WITH f AS (SELECT case_id, min(occurred_at) AS start,
		    min(occurred_at) FILTER (WHERE stage = 'contract_signed') AS cs,
		    min(occurred_at) FILTER (WHERE stage = 'delivery_accepted') AS da,
		    min(occurred_at) FILTER (WHERE stage = 'invoiced') AS inv,
		    min(occurred_at) FILTER (WHERE stage = 'cash_collected') AS cc
		  FROM stage_events GROUP BY case_id),
		  d AS (SELECT case_id, 'sales' AS k, cs AS e, start AS b FROM f UNION ALL SELECT case_id, 'delivery', da, cs FROM f
		        UNION ALL SELECT case_id, 'cash', cc, inv FROM f UNION ALL SELECT case_id, 'l2c', cc, start FROM f),
		  x AS (SELECT k, e >= $1 AS cur, coalesce(o.business_unit, l.business_unit) AS bu, (epoch(e) - epoch(b)) / 86400 AS days
		        FROM d ` + naiveCaseD + `
		        WHERE e >= $2 AND e < $3 AND b <= e)
		SELECT k, cur, bu, grouping(bu) AS total, count(*), quantile_cont(days, 0.5), quantile_cont(days, 0.9), avg(days)
		FROM x GROUP BY GROUPING SETS ((k, cur), (k, cur, bu))`},
	{"valueStream", gq("valueStream", gStream), func(ctx context.Context, e *kpi.Engine) (any, error) {
		return e.ValueStreamOf(ctx, kpiScope, kpi.CycleLeadToCash)
	},
		`WITH e AS (SELECT case_id, stage, occurred_at,
		    epoch(lead(occurred_at) OVER (PARTITION BY case_id ORDER BY occurred_at, seq)) - epoch(occurred_at) AS dwell
		  FROM stage_events WHERE stage IS NOT NULL),
		  cs AS (SELECT case_id, stage, sum(coalesce(dwell, 0)) / 86400 AS t, count(*) AS n FROM e GROUP BY ALL),
		  done AS (SELECT case_id, CASE WHEN min(occurred_at) >= $1 THEN 0 ELSE 1 END AS p FROM stage_events
		           WHERE stage = 'cash_collected' GROUP BY case_id HAVING min(occurred_at) >= $2 AND min(occurred_at) < $3),
		  span AS (SELECT case_id, (epoch(max(occurred_at)) - epoch(min(occurred_at))) / 86400 AS d FROM e SEMI JOIN done USING (case_id) GROUP BY case_id),
		  a AS (SELECT cs.*, done.p, coalesce(o.business_unit, l.business_unit) AS bu FROM cs JOIN done USING (case_id) ` + naiveCaseCS + `)
		SELECT stage, p, bu, sum(t), count(*), count(*) FILTER (WHERE n >= 2), median(t), quantile_cont(t, 0.9)
		FROM a GROUP BY GROUPING SETS ((stage, p), (stage, p, bu))
		UNION ALL
		SELECT NULL, p, bu, sum(d), count(*), NULL, NULL, NULL FROM (SELECT span.d, done.p, coalesce(o.business_unit, l.business_unit) AS bu
		  FROM span JOIN done USING (case_id) ` + naiveCaseSpan + `)
		GROUP BY GROUPING SETS ((p), (p, bu))`},
	{"adoption", gq("adoption", gAdopt), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Adoption(ctx, kpiScope) },
		`WITH m(pos, stage, gate, complex_only, tmpl) AS (VALUES
		    (0, 'lead_created', false, false, false), (1, 'lead_qualified', false, false, false),
		    (2, 'opportunity_created', false, false, false), (3, 'needs_analysis', false, false, true),
		    (4, 'solution_design', false, true, true), (5, 'solution_review', true, true, false),
		    (6, 'quote', false, false, true), (7, 'contract_review', true, false, false),
		    (8, 'contract_signed', false, false, false), (9, 'delivery_started', false, false, false),
		    (10, 'delivery_accepted', false, false, false), (11, 'invoiced', false, false, false),
		    (12, 'cash_collected', false, false, false)),
		  cs AS (SELECT case_id, min(occurred_at) AS start FROM stage_events GROUP BY case_id HAVING start >= $2 AND start < $3),
		  ev AS (SELECT e.case_id, m.pos, m.tmpl, e.template_used FROM stage_events e JOIN m USING (stage) SEMI JOIN cs USING (case_id)),
		  st AS (SELECT DISTINCT case_id, pos FROM ev),
		  c AS (SELECT cs.case_id, cs.start >= $1 AS cur, coalesce(o.business_unit, l.business_unit) AS bu,
		          coalesce(o.branch, CASE WHEN o.product_line IN ('Enterprise Platform', 'Custom Integration') THEN 'complex' ELSE 'standard' END) AS branch,
		          (SELECT max(pos) FROM st WHERE st.case_id = cs.case_id) AS furthest,
		          (SELECT count(*) FILTER (WHERE tmpl) FROM ev WHERE ev.case_id = cs.case_id) AS tn,
		          (SELECT count(*) FILTER (WHERE tmpl AND template_used) FROM ev WHERE ev.case_id = cs.case_id) AS tu,
		          (SELECT count(DISTINCT role) FROM assignments a WHERE a.opportunity_id = cs.case_id) AS roles
		        FROM cs LEFT JOIN opportunities o ON o.opportunity_id = cs.case_id LEFT JOIN leads l ON l.lead_id = cs.case_id),
		  x AS (SELECT c.case_id, count(*) AS expected, count(st.pos) AS recorded FROM c
		        JOIN m ON m.pos <= c.furthest AND NOT m.gate AND (NOT m.complex_only OR c.branch = 'complex')
		        LEFT JOIN st ON st.case_id = c.case_id AND st.pos = m.pos GROUP BY c.case_id),
		  y AS (SELECT c.*, x.expected, x.recorded FROM c JOIN x USING (case_id))
		SELECT cur, bu, count(*), count(*) FILTER (WHERE recorded = expected), avg(recorded / expected), sum(tn), sum(tu),
		       count(*) FILTER (WHERE furthest > 4), count(*) FILTER (WHERE furthest > 4 AND roles >= 3)
		FROM y GROUP BY GROUPING SETS ((cur), (cur, bu))`},
	{"compliance", gq("compliance", gCompl), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Compliance(ctx, kpiScope) },
		`WITH f AS (SELECT case_id,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'quote') AS q,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'solution_review') AS sr,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'solution_review' AND outcome = 'pass') AS srp,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_signed') AS cs,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_review') AS cr,
		    min({'t': occurred_at, 's': seq}) FILTER (WHERE stage = 'contract_review' AND outcome = 'pass') AS crp
		  FROM stage_events WHERE stage IN ('quote', 'solution_review', 'contract_signed', 'contract_review') GROUP BY case_id),
		  c AS (SELECT f.*, coalesce(o.business_unit, l.business_unit) AS bu,
		          coalesce(o.branch, CASE WHEN o.product_line IN ('Enterprise Platform', 'Custom Integration') THEN 'complex' ELSE 'standard' END) AS branch
		        FROM f LEFT JOIN opportunities o ON o.opportunity_id = f.case_id LEFT JOIN leads l ON l.lead_id = f.case_id),
		  g AS (SELECT case_id, bu, 'solution_review' AS gate, q.t AS eat,
		          CASE WHEN srp < q THEN 'compliant' WHEN srp IS NOT NULL THEN 'late' WHEN sr < q THEN 'failed' ELSE 'missing' END AS kind
		        FROM c WHERE q IS NOT NULL AND branch = 'complex'
		        UNION ALL
		        SELECT case_id, bu, 'contract_review', cs.t,
		          CASE WHEN crp < cs THEN 'compliant' WHEN crp IS NOT NULL THEN 'late' WHEN cr < cs THEN 'failed' ELSE 'missing' END
		        FROM c WHERE cs IS NOT NULL),
		  o AS (SELECT case_id, any_value(bu) AS bu, min(eat) AS eat, bool_or(kind <> 'compliant') AS violated FROM g GROUP BY case_id),
		  d AS (SELECT coalesce(op.business_unit, '') AS bu, dl.accepted_at AS eat, coalesce(dl.accepted_at <= k.committed_delivery_at, false) AS kept
		        FROM deliveries dl LEFT JOIN contracts k ON k.contract_id = dl.contract_id LEFT JOIN opportunities op ON op.opportunity_id = k.opportunity_id
		        WHERE dl.accepted_at >= $2 AND dl.accepted_at < $3)
		SELECT gate, eat >= $1 AS cur, bu, grouping(bu) AS total, kind, count(*) FROM g WHERE eat >= $2 AND eat < $3 GROUP BY GROUPING SETS ((gate, cur, kind), (gate, cur, bu, kind))
		UNION ALL SELECT 'all', eat >= $1 AS cur, bu, grouping(bu), violated::VARCHAR, count(*) FROM o WHERE eat >= $2 AND eat < $3 GROUP BY GROUPING SETS ((cur, violated), (cur, bu, violated))
		UNION ALL SELECT 'promise', eat >= $1 AS cur, bu, grouping(bu), kept::VARCHAR, count(*) FROM d GROUP BY GROUPING SETS ((cur, kept), (cur, bu, kept))`},
	{"cash", gq("cash", gCash), func(ctx context.Context, e *kpi.Engine) (any, error) { return e.Cash(ctx, kpiScope) },
		`WITH w(k, f, t, a) AS (VALUES (0, $1, $3, $3), (1, $2, $1, $1)),
		  inv AS (SELECT i.invoice_id, i.issued_at, i.due_at, CAST(i.amount AS DOUBLE) AS amount, o.business_unit AS bu
		          FROM invoices i LEFT JOIN contracts k ON k.contract_id = i.contract_id
		          LEFT JOIN opportunities o ON o.opportunity_id = k.opportunity_id),
		  r AS (SELECT bu, issued_at, due_at, issued_at AS at, NULL::TIMESTAMP AS received_at, amount AS inv, 0.0 AS pay FROM inv WHERE issued_at < $3
		        UNION ALL SELECT i.bu, i.issued_at, i.due_at, p.received_at, p.received_at, 0.0, CAST(p.amount AS DOUBLE)
		        FROM payments p JOIN inv i ON i.invoice_id = p.invoice_id WHERE p.received_at < $3)
		SELECT w.k, r.bu,
		  count(*) FILTER (WHERE r.received_at IS NULL AND r.issued_at >= w.f AND r.issued_at < w.t),
		  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at >= w.f AND r.issued_at < w.t),
		  sum(r.pay) FILTER (WHERE r.received_at >= w.f AND r.received_at < w.t),
		  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a) - sum(r.pay) FILTER (WHERE r.received_at < w.a),
		  sum(r.inv) FILTER (WHERE r.received_at IS NULL AND r.issued_at < w.a AND r.due_at < w.a)
		    - sum(r.pay) FILTER (WHERE r.received_at < w.a AND r.due_at < w.a),
		  sum(r.pay) FILTER (WHERE r.issued_at >= w.f AND r.issued_at < w.t AND r.received_at < w.a)
		FROM r JOIN w ON r.at < w.t GROUP BY GROUPING SETS ((w.k), (w.k, r.bu))`},
}

var (
	naiveCaseR    = fmt.Sprintf(naiveCase, "r")
	naiveCaseD    = fmt.Sprintf(naiveCase, "d")
	naiveCaseCS   = fmt.Sprintf(naiveCase, "cs")
	naiveCaseSpan = fmt.Sprintf(naiveCase, "span")
)

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
func benchKPI(ctx context.Context, path string, d *data, t *table, size string, reps int, log *slog.Logger) error {
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
	for _, f := range families {
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
	t.set(row, size, checkAgreement(ctx, db, direct))
	t.target(row, "agree")
	return nil
}

// checkAgreement compares headline numbers of the naive SQL and the engine (current period, total).
func checkAgreement(ctx context.Context, db *schema.DB, e *kpi.Engine) string {
	var bad []string
	find := func(name string) family {
		for _, f := range families {
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
