package etl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/internal/testpg"
	"github.com/ltc-analytics/ltc/schema"
)

// benchActivities are the activities of the generated events (event i has activity i mod 8).
var benchActivities = []string{"Lead Created", "Lead Qualified", "Opportunity Created", "Needs Analysis", "Call", "Quote Sent", "Contract Review", "Contract Signed"}

// benchEventsCSV writes n events (case C<i/6>, one a minute from 2025-01-01) as CSV.
func benchEventsCSV(b *testing.B, path string, n int) {
	b.Helper()
	gen, err := schema.Open(context.Background(), "", schema.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer gen.Close()
	acts := "['" + strings.Join(benchActivities, "', '") + "']" // constants: no quote inside
	if _, err := gen.Write.Exec(fmt.Sprintf(`COPY (
		SELECT 'C' || (i // 6) AS case_id, %s[1 + i %% 8] AS activity,
			TIMESTAMP '2025-01-01' + INTERVAL (i) MINUTE AS occurred_at, 'E' || (i %% 97) AS actor_id, 'sales' AS actor_role,
			CASE WHEN i %% 8 = 6 THEN 'pass' END AS outcome
		FROM range(%d) t(i)) TO '%s' (HEADER)`, acts, n, path)); err != nil {
		b.Fatal(err)
	}
}

// benchEventsXES writes the same n events as an XES log, times at +01:00.
func benchEventsXES(b *testing.B, path string, n int) {
	b.Helper()
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	w.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<log xes.version=\"1.0\">\n")
	start, zone := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.FixedZone("", 3600)
	for i := 0; i < n; i++ {
		outcome := ""
		if i%8 == 6 { // the gate
			outcome = "      <string key=\"outcome\" value=\"pass\"/>\n"
		}
		if i%6 == 0 {
			if i > 0 {
				w.WriteString("  </trace>\n")
			}
			fmt.Fprintf(w, "  <trace>\n    <string key=\"concept:name\" value=\"C%d\"/>\n", i/6)
		}
		fmt.Fprintf(w, "    <event>\n      <string key=\"concept:name\" value=\"%s\"/>\n      <string key=\"lifecycle:transition\" value=\"complete\"/>\n"+
			"      <date key=\"time:timestamp\" value=\"%s\"/>\n      <string key=\"org:resource\" value=\"E%d\"/>\n      <string key=\"org:role\" value=\"sales\"/>\n%s    </event>\n",
			benchActivities[i%8], start.Add(time.Duration(i)*time.Minute).In(zone).Format("2006-01-02T15:04:05.000-07:00"), i%97, outcome)
	}
	w.WriteString("  </trace>\n</log>\n")
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	fh.Close()
}

// benchLoad runs job once per iteration into a fresh warehouse and reports rows/s.
func benchLoad(b *testing.B, spec source.Spec, rows int64) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db, err := schema.Open(ctx, "", schema.Options{})
		if err != nil {
			b.Fatal(err)
		}
		r := NewRunner(Options{DB: db, Model: schema.StandardModel(), Sources: []source.Spec{spec}})
		b.StartTimer()
		res, err := r.Run(ctx, spec.Name)
		if err != nil || res.RowsLoaded != rows {
			b.Fatalf("%+v %v", res, err)
		}
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkLoadXES loads a 250k-event log as XES and, beside it, the same events as CSV, through
// the whole ETL path. Run: go test -run '^$' -bench LoadXES -benchtime 1x ./etl/
func BenchmarkLoadXES(b *testing.B) {
	const events = 250_000
	dir := b.TempDir()
	benchEventsCSV(b, filepath.Join(dir, "events.csv"), events)
	benchEventsXES(b, filepath.Join(dir, "events.xes"), events)
	b.Run("csv", func(b *testing.B) {
		benchLoad(b, source.Spec{Name: "events", Format: "csv", Glob: filepath.Join(dir, "events.csv"), Target: "stage_events"}, events)
	})
	b.Run("xes", func(b *testing.B) {
		benchLoad(b, source.Spec{Name: "events", Format: source.FormatXES, Glob: filepath.Join(dir, "events.xes"), Target: "stage_events"}, events)
	})
}

// BenchmarkLoadPostgres loads a 1M-row PostgreSQL table of events (a full read, 10 000 rows per
// fetch) and, beside it, the same rows as CSV. It starts a private server (testpg).
// Run: go test -run '^$' -bench LoadPostgres -benchtime 1x ./etl/
func BenchmarkLoadPostgres(b *testing.B) {
	const rows = 1_000_000
	pg := testpg.Start(b)
	pg.Exec(fmt.Sprintf(`CREATE TABLE events AS
		SELECT 'C' || (i / 6) AS case_id, ($1::text[])[1 + i %% 8] AS activity,
			timestamptz '2025-01-01 00:00+00' + make_interval(mins => i) AS occurred_at, 'E' || (i %% 97) AS actor_id, 'sales'::text AS actor_role,
			CASE WHEN i %% 8 = 6 THEN 'pass' END AS outcome
		FROM generate_series(0, %d) AS t(i)`, rows-1), benchActivities)
	dir := b.TempDir()
	benchEventsCSV(b, filepath.Join(dir, "events.csv"), rows)
	b.Run("csv", func(b *testing.B) {
		benchLoad(b, source.Spec{Name: "events", Format: "csv", Glob: filepath.Join(dir, "events.csv"), Target: "stage_events"}, rows)
	})
	b.Run("postgres", func(b *testing.B) {
		benchLoad(b, source.Spec{Name: "events", Format: source.FormatPostgres, Target: "stage_events",
			Postgres: source.Postgres{DSN: pg.DSN("crm", testpg.Password), Table: "events"}}, rows)
	})
}
