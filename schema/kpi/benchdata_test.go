package kpi

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// benchData is the synthetic warehouse the benchmarks share (built once per test binary).
type benchData struct {
	once sync.Once
	eng  *Engine
	db   *schema.DB
	err  error
}

var bench benchData

// benchCases is the number of synthetic cases (LTC_BENCH_CASES, default 100000).
func benchCases() int {
	if n, err := strconv.Atoi(os.Getenv("LTC_BENCH_CASES")); err == nil && n > 0 {
		return n
	}
	return 100000
}

// benchEngine returns an engine over synthetic data generated in SQL: each case walks the model's
// stages up to a furthest stage (with occasional rework and personal activities), complex-product
// cases on the complex branch; contracts, deliveries, invoices and payments follow the events.
func benchEngine(b *testing.B) *Engine {
	b.Helper()
	bench.once.Do(func() { bench.eng, bench.db, bench.err = buildBench(benchCases()) })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.eng
}

func buildBench(n int) (*Engine, *schema.DB, error) {
	ctx := context.Background()
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		return nil, nil, err
	}
	model := schema.StandardModel()
	stmts := []string{`CREATE TEMP TABLE bstages (pos INTEGER, id VARCHAR, act VARCHAR, branch VARCHAR)`}
	for i, s := range model.Stages {
		br := ""
		if len(s.Branches) > 0 {
			br = s.Branches[0]
		}
		stmts = append(stmts, "INSERT INTO bstages VALUES ("+strconv.Itoa(i)+", '"+s.ID+"', '"+s.Activities[0]+"', '"+br+"')")
	}
	N := strconv.Itoa(n)
	stmts = append(stmts,
		`INSERT INTO employees SELECT 'E' || i, 'Emp ' || i, 'sales', 'T' || (i % 7), NULL, 'BU' || (i % 5), 'R' || (i % 3), NULL, NULL, 'bench' FROM range(50) t(i)`,
		`CREATE TEMP TABLE bcase AS SELECT i, CASE WHEN i % 5 = 0 THEN 'L' || i ELSE 'O' || i END AS case_id,
		   TIMESTAMP '2024-01-01' + to_seconds(CAST(hash(i) % (365 * 86400) AS BIGINT)) AS start,
		   CAST(hash(i * 7) % 13 AS INTEGER) AS furthest,
		   CASE WHEN i % 4 = 0 THEN 'Enterprise Platform' ELSE 'Basic' END AS product
		 FROM range(`+N+`) t(i)`,
		`INSERT INTO leads SELECT 'L' || i, start, CASE i % 3 WHEN 0 THEN 'Web' WHEN 1 THEN 'Event' ELSE 'Partner' END, NULL, NULL,
		   'E' || (i % 50), 'BU' || (i % 5), 'R' || (i % 3), 'S' || (i % 2), NULL, NULL, NULL,
		   CASE WHEN i % 5 = 0 THEN NULL ELSE 'O' || i END, 'bench', NULL FROM bcase`, // attributes: none
		`INSERT INTO opportunities SELECT case_id, 'L' || i, NULL, 'E' || (i % 50), 'BU' || (i % 5), 'R' || (i % 3), 'S' || (i % 2),
		   product, NULL, start + INTERVAL 2 DAY,
		   CASE WHEN furthest >= 8 OR i % 3 = 0 THEN start + to_days(CAST(10 + i % 20 AS INTEGER)) END,
		   CASE WHEN furthest >= 8 THEN 'won' WHEN i % 3 = 0 THEN 'lost' ELSE 'open' END, 1000 + i % 5000, 'EUR', 'bench', NULL
		 FROM bcase WHERE i % 5 <> 0`, // attributes: none
		// Stage events: stage k at start + k·(1..3 days), branch stages only on complex cases,
		// rework of needs_analysis on every 7th case, a personal activity on every other case.
		`INSERT INTO stage_events (case_id, stage, activity, occurred_at, actor_id, actor_role, outcome, template_used, source, seq, _file)
		 SELECT c.case_id, s.id, s.act, c.start + to_seconds(CAST(s.pos * 86400 * (1 + hash(c.i + s.pos) % 3) + hash(c.i) % 3600 AS BIGINT)),
		        NULL, NULL, CASE WHEN s.id IN ('solution_review', 'contract_review') THEN CASE WHEN hash(c.i, s.pos) % 10 = 0 THEN 'fail' ELSE 'pass' END END,
		        CASE WHEN s.pos IN (3, 4, 6) THEN hash(c.i) % 2 = 0 END, 'bench', c.i * 100 + s.pos, 'bench'
		 FROM bcase c JOIN bstages s ON s.pos <= c.furthest AND (s.branch = '' OR c.product = 'Enterprise Platform')
		 WHERE NOT (c.i % 5 = 0 AND s.pos > 1)`,
		`INSERT INTO stage_events (case_id, stage, activity, occurred_at, actor_id, actor_role, outcome, template_used, source, seq, _file) SELECT case_id, 'needs_analysis', 'Needs Analysis', start + INTERVAL 5 DAY, NULL, NULL, NULL, false, 'bench', i * 100 + 50, 'bench'
		 FROM bcase WHERE i % 7 = 0 AND furthest >= 4 AND i % 5 <> 0`,
		`INSERT INTO stage_events (case_id, stage, activity, occurred_at, actor_id, actor_role, outcome, template_used, source, seq, _file) SELECT case_id, NULL, 'Coffee', start + INTERVAL 1 HOUR, NULL, NULL, NULL, NULL, 'bench', i * 100 + 60, 'bench'
		 FROM bcase WHERE i % 2 = 0`,
		`INSERT INTO assignments SELECT case_id, 'E' || (i % 50), r.role, NULL, 'bench'
		 FROM bcase, (VALUES ('sales'), ('solution'), ('delivery')) r(role) WHERE i % 5 <> 0 AND (r.role = 'sales' OR i % 3 <> 1)`,
		`INSERT INTO contracts SELECT 'K' || i, case_id, start + INTERVAL 20 DAY, 1000, start + INTERVAL 40 DAY, 'bench' FROM bcase WHERE furthest >= 8 AND i % 5 <> 0`,
		`INSERT INTO deliveries SELECT 'D' || i, 'K' || i, start + INTERVAL 21 DAY, start + to_days(CAST(30 + i % 20 AS INTEGER)), NULL, 'bench' FROM bcase WHERE furthest >= 10 AND i % 5 <> 0`,
		`INSERT INTO invoices SELECT 'I' || i, 'K' || i, start + INTERVAL 25 DAY, start + INTERVAL 55 DAY, 1000, 'bench' FROM bcase WHERE furthest >= 11 AND i % 5 <> 0`,
		`INSERT INTO payments SELECT 'P' || i, 'I' || i, start + to_days(CAST(30 + i % 60 AS INTEGER)), 1000 - (i % 3) * 100, 'bench' FROM bcase WHERE furthest >= 12 AND i % 5 <> 0`,
	)
	for _, s := range stmts {
		if _, err := db.Write.ExecContext(ctx, s); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	eng := New(db, model, Options{SprintAnchor: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), CacheSize: -1})
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	if err := eng.Refresh(ctx, tx); err != nil {
		return nil, nil, err
	}
	return eng, db, tx.Commit()
}

// benchScope is a quarter of the synthetic year, broken down by business unit.
func benchScope() Scope {
	return Scope{From: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
		GroupBy: []string{"business_unit"}}
}

// naive runs the naive reference SQL of a KPI family (testdata/naive/<family>.sql, which
// `go run ./bench` runs too) over s b.N times: the baseline DESIGN §6 compares against.
func naive(b *testing.B, family string, s Scope) {
	b.Helper()
	q, err := os.ReadFile(filepath.Join("testdata", "naive", family+".sql"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	loopCPU(b, func() {
		rows, err := bench.db.Read.QueryContext(ctx, string(q), s.From, s.previous(), s.To)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			b.Fatal(err)
		}
		rows.Close()
	})
}

// loopCPU runs f in b.Loop and reports the process's CPU time per op (user + system, DuckDB's
// threads included) as cpu-ms/op: on a shared machine the CPU ratio of engine to naive is steadier
// than the wall-time ratio. The first benchmark a process runs after building the data reads up
// to twice its later figures (measured on BenchmarkCycleTimes): run with -count 3 or more and drop
// the first.
func loopCPU(b *testing.B, f func()) {
	b.Helper()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	for b.Loop() {
		f()
	}
	b.ReportMetric(float64(cpu()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// TestNaiveSQL: every naive reference query (testdata/naive, shared with go run ./bench) runs on
// the fixture and has a benchmark that runs it; the win-rate one answers the fixture by hand.
func TestNaiveSQL(t *testing.T) {
	_, db := newFixture(t)
	files, err := filepath.Glob(filepath.Join("testdata", "naive", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no naive SQL: %v", err)
	}
	tests, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range tests {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	s := march()
	for _, f := range files {
		family := strings.TrimSuffix(filepath.Base(f), ".sql")
		if !strings.Contains(src.String(), `naive(b, "`+family+`"`) {
			t.Errorf("%s: no benchmark runs it (naive(b, %q, …))", f, family)
		}
		q, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read.QueryContext(context.Background(), string(q), s.From, s.previous(), s.To)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		rows.Close()
	}
	// Win rate in March, by closed_at: O1 O2 O3 O4 O5 won, O8 lost (O9 won in February): 5 of 6.
	q, err := os.ReadFile(filepath.Join("testdata", "naive", "winRate.sql"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Read.QueryContext(context.Background(), string(q), s.From, s.previous(), s.To)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var closed, won int64
	for rows.Next() { // (p, bu, total, closed, won): the current period's total row
		var p, total, c, w int64
		var bu sql.NullString
		if err := rows.Scan(&p, &bu, &total, &c, &w); err != nil {
			t.Fatal(err)
		}
		if p == 0 && total == 1 {
			closed, won = c, w
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if closed != 6 || won != 5 {
		t.Errorf("naive win rate in March: %d of %d, want 5 of 6", won, closed)
	}
}
