package synth

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/schema"
)

var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestCases(t *testing.T) {
	for size, want := range map[string]int{"small": 10_000, "medium": 100_000, "large": 1_000_000} {
		if n, err := Cases(size); err != nil || n != want {
			t.Errorf("Cases(%q) = %d, %v; want %d", size, n, err, want)
		}
	}
	if _, err := Cases("huge"); err == nil {
		t.Error("Cases(huge): want an error")
	}
	if _, err := Generate(context.Background(), t.TempDir(), Options{Size: "tiny", Now: testNow}); err == nil {
		t.Error("Generate(tiny): want an error")
	}
}

// readTree returns every file under dir (relative path → content).
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	ctx := context.Background()
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	seeds := []int64{7, 7, 8}
	var sums []Summary
	for i, dir := range dirs {
		s, err := Generate(ctx, dir, Options{Size: "small", Seed: seeds[i], Now: testNow})
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, s)
	}
	a, b, c := readTree(t, dirs[0]), readTree(t, dirs[1]), readTree(t, dirs[2])
	if len(a) != sums[0].Files {
		t.Errorf("%d files on disk, summary says %d", len(a), sums[0].Files)
	}
	if len(a) != len(b) {
		t.Fatalf("file counts differ: %d vs %d", len(a), len(b))
	}
	names := make([]string, 0, len(a))
	for name := range a {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	for _, name := range []string{"leads.csv", "opportunities.jsonl", "contracts.parquet", "events/events-2025-06.csv"} {
		if bytes.Equal(a[name], c[name]) {
			t.Errorf("%s is identical for seeds 7 and 8", name)
		}
	}
	for _, name := range []string{"accounts.csv", "employees.csv", "leads.csv", "opportunities.jsonl",
		"contracts.parquet", "deliveries.csv", "invoices.csv", "payments.csv", "assignments.csv",
		"marketing_spend.csv", "ltc.yaml", "events/events-2024-03.csv", "events/events-2026-03.csv"} {
		if _, ok := a[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
	for name := range a {
		if filepath.Ext(name) == ".csv" && filepath.Base(name) == "contracts.tmp.csv" {
			t.Errorf("temp file %s left behind", name)
		}
	}
}

// ev is one event of the log as read back from the files.
type ev struct {
	stage, activity, outcome string
	at                       time.Time
	seq                      int
}

// readEvents reads the monthly event files in name order; seq is the source order.
func readEvents(t *testing.T, dir string, m *schema.Model) map[string][]ev {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "events", "*.csv"))
	sort.Strings(files)
	cases := map[string][]ev{}
	seq := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(fh)
		header, err := r.Read()
		if err != nil || header[0] != "case_id" || header[2] != "occurred_at" {
			t.Fatalf("%s: header %v, %v", f, header, err)
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			at, err := time.Parse(time.DateTime, rec[2])
			if err != nil {
				t.Fatal(err)
			}
			seq++
			cases[rec[0]] = append(cases[rec[0]], ev{stage: m.StageOf(rec[1]), activity: rec[1], outcome: rec[5], at: at, seq: seq})
		}
		fh.Close()
	}
	for _, es := range cases {
		slices.SortStableFunc(es, func(a, b ev) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return a.seq - b.seq
		})
	}
	return cases
}

type opp struct {
	bu, product, status string
}

// story holds the numbers the test measures (logged, and checked against the tolerances).
type story struct {
	baseConv, northConv, northBaseYear, centralConv, centralBaseYear rate
	zNorth, zCentral                                                 float64
	sdShareComplex, sdShareAll                                       float64
	bottleneck                                                       string
	adoptBase, adoptPilot, adoptBaseAll                              rate
	cycleBase, cyclePilot                                            float64 // mean sales cycle days, North
	winRate                                                          rate
	complianceBase, compliancePilot                                  rate
}

type rate struct{ hit, n int }

func (r rate) p() float64 { return float64(r.hit) / float64(r.n) }

func (r *rate) add(ok bool) {
	r.n++
	if ok {
		r.hit++
	}
}

// z is the two-proportion z statistic of a vs b.
func z(a, b rate) float64 {
	p := float64(a.hit+b.hit) / float64(a.n+b.n)
	se := math.Sqrt(p * (1 - p) * (1/float64(a.n) + 1/float64(b.n)))
	return (a.p() - b.p()) / se
}

func measure(t *testing.T, dir string, sum Summary) story {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var st story
	pilot := sum.PilotStart
	mature := now30(sum.Now)

	// lead conversion, cohort by created_at; the last 30 days are left out (not yet had time to convert)
	rows, err := db.QueryContext(ctx, `SELECT business_unit, created_at, status FROM read_csv(?, header = true)`,
		filepath.Join(dir, "leads.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var bu, status string
		var at time.Time
		if err := rows.Scan(&bu, &at, &status); err != nil {
			t.Fatal(err)
		}
		conv := status == "Converted"
		baseYear := !at.Before(pilot.AddDate(-1, 0, 0)) && at.Before(pilot)
		after := !at.Before(pilot) && at.Before(mature)
		if at.Before(pilot) {
			st.baseConv.add(conv)
		}
		switch bu {
		case "North":
			if baseYear {
				st.northBaseYear.add(conv)
			}
			if after {
				st.northConv.add(conv)
			}
		case "Central":
			if baseYear {
				st.centralBaseYear.add(conv)
			}
			if after {
				st.centralConv.add(conv)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	st.zNorth = z(st.northConv, st.northBaseYear)
	st.zCentral = z(st.centralConv, st.centralBaseYear)

	opps := map[string]opp{}
	rows, err = db.QueryContext(ctx, `SELECT opportunity_id, business_unit, product_line, status FROM read_json(?, format = 'newline_delimited')`,
		filepath.Join(dir, "opportunities.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var o opp
		if err := rows.Scan(&id, &o.bu, &o.product, &o.status); err != nil {
			t.Fatal(err)
		}
		opps[id] = o
		if o.status != "Open" {
			st.winRate.add(o.status == "Won")
		}
	}
	rows.Close()
	if len(opps) != sum.Opportunities {
		t.Errorf("%d opportunities read, summary says %d", len(opps), sum.Opportunities)
	}

	var maxAt time.Time
	if err := db.QueryRowContext(ctx, `SELECT max(occurred_at) FROM read_csv(?, header = true)`,
		filepath.Join(dir, "events", "*.csv")).Scan(&maxAt); err != nil {
		t.Fatal(err)
	}
	if maxAt.After(sum.Now) {
		t.Errorf("latest event %v is after Now %v", maxAt, sum.Now)
	}
	var nContracts int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM read_parquet(?)`, filepath.Join(dir, "contracts.parquet")).Scan(&nContracts); err != nil {
		t.Fatal(err)
	}
	if nContracts != sum.Contracts || nContracts == 0 {
		t.Errorf("contracts.parquet has %d rows, summary says %d", nContracts, sum.Contracts)
	}

	m := schema.StandardModel()
	cases := readEvents(t, dir, m)
	nEvents := 0
	for _, es := range cases {
		nEvents += len(es)
	}
	if nEvents != sum.Events {
		t.Errorf("%d events read, summary says %d", nEvents, sum.Events)
	}
	missingLC := 0
	for id := range opps {
		has := false
		for _, e := range cases[id] {
			if e.activity == "Lead Created" {
				has = true
				break
			}
		}
		if !has {
			missingLC++
		}
	}
	if missingLC > 0 {
		t.Errorf("%d opportunity cases have no Lead Created event", missingLC)
	}

	// expected non-gate stages per branch
	expected := map[string][]string{}
	for _, b := range m.Branches {
		for _, s := range m.Stages {
			if s.Expected(b.ID) && s.Gate == nil {
				expected[b.ID] = append(expected[b.ID], s.ID)
			}
		}
	}
	stageTime := map[string]float64{}
	var totalAll, sdComplex, totalComplex float64
	var cycBase, cycPilot []float64
	ids := make([]string, 0, len(cases))
	for id := range cases {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		es := cases[id]
		for _, e := range es {
			if e.at.After(sum.Now) {
				t.Fatalf("case %s: event %s at %v after Now", id, e.activity, e.at)
			}
		}
		var stageEv []ev
		for _, e := range es {
			if e.stage != "" {
				stageEv = append(stageEv, e)
			}
		}
		if len(stageEv) == 0 {
			continue
		}
		start := stageEv[0].at
		o, isOpp := opps[id]
		branch := m.BranchFor(map[string]string{"product_line": o.product})
		// adoption
		has := map[string]bool{}
		furthest := -1
		for _, e := range stageEv {
			has[e.stage] = true
			furthest = max(furthest, m.Position(e.stage))
		}
		adopted := true
		for _, s := range expected[branch] {
			if m.Position(s) <= furthest && !has[s] {
				adopted = false
			}
		}
		if start.Before(pilot) {
			st.adoptBaseAll.add(adopted)
		}
		if !isOpp {
			continue
		}
		base := start.Before(pilot)
		pilotCase := o.bu == "North" && !start.Before(pilot.AddDate(0, 0, 42))
		if base {
			st.adoptBase.add(adopted)
		} else if pilotCase {
			st.adoptPilot.add(adopted)
		}
		// compliance at both gates
		compliant, entered := true, false
		for _, s := range m.Stages {
			if s.Gate == nil || !s.Expected(branch) {
				continue
			}
			var entry time.Time
			entrySeq := 0
			for _, e := range stageEv {
				if e.stage == s.Gate.Guards {
					entry, entrySeq = e.at, e.seq
					break
				}
			}
			if entrySeq == 0 {
				continue
			}
			entered = true
			ok := false
			for _, e := range stageEv {
				if e.stage == s.ID && e.outcome == "pass" && (e.at.Before(entry) || e.at.Equal(entry) && e.seq < entrySeq) {
					ok = true
				}
			}
			compliant = compliant && ok
		}
		if entered && base {
			st.complianceBase.add(compliant)
		} else if entered && pilotCase {
			st.compliancePilot.add(compliant)
		}
		// value stream of the sales cycle: case start → first contract signed
		signedAt := -1
		for i, e := range stageEv {
			if e.stage == "contract_signed" {
				signedAt = i
				break
			}
		}
		if signedAt < 0 {
			continue
		}
		cycle := stageEv[signedAt].at.Sub(start).Hours() / 24
		// (pilot cases started in the last 120 days are left out: only their fast deals have signed yet)
		if o.bu == "North" && base {
			cycBase = append(cycBase, cycle)
		} else if pilotCase && start.Before(sum.Now.AddDate(0, 0, -120)) {
			cycPilot = append(cycPilot, cycle)
		}
		if !base {
			continue
		}
		totalAll += cycle
		for i := 0; i < signedAt; i++ {
			d := stageEv[i+1].at.Sub(stageEv[i].at).Hours() / 24
			stageTime[stageEv[i].stage] += d
			if branch == "complex" && stageEv[i].stage == "solution_design" {
				sdComplex += d
			}
		}
		if branch == "complex" {
			totalComplex += cycle
		}
	}
	st.sdShareComplex = sdComplex / totalComplex
	st.sdShareAll = stageTime["solution_design"] / totalAll
	best := 0.0
	for _, s := range m.Stages {
		if stageTime[s.ID] > best {
			best, st.bottleneck = stageTime[s.ID], s.ID
		}
	}
	for _, s := range m.Stages {
		if stageTime[s.ID] > 0 {
			t.Logf("baseline share of sales cycle: %-20s %5.1f%%", s.ID, 100*stageTime[s.ID]/totalAll)
		}
	}
	st.cycleBase, st.cyclePilot = mean(cycBase), mean(cycPilot)
	return st
}

func now30(now time.Time) time.Time { return now.AddDate(0, 0, -30) }

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func logStory(t *testing.T, st story) {
	t.Logf("lead conversion: baseline (all units, before pilot) %.1f%% (n=%d); North after start %.1f%% (n=%d) vs its baseline year %.1f%% (n=%d), z=%.2f; Central %.1f%% (n=%d) vs %.1f%% (n=%d), z=%.2f",
		100*st.baseConv.p(), st.baseConv.n, 100*st.northConv.p(), st.northConv.n, 100*st.northBaseYear.p(), st.northBaseYear.n, st.zNorth,
		100*st.centralConv.p(), st.centralConv.n, 100*st.centralBaseYear.p(), st.centralBaseYear.n, st.zCentral)
	t.Logf("solution design share of the sales cycle (baseline): complex %.1f%%, all cases %.1f%%; bottleneck %s",
		100*st.sdShareComplex, 100*st.sdShareAll, st.bottleneck)
	t.Logf("adoption (opportunity cases): baseline %.1f%% (n=%d), North after 3 sprints %.1f%% (n=%d); all cases incl. lead-only, baseline %.1f%% (n=%d)",
		100*st.adoptBase.p(), st.adoptBase.n, 100*st.adoptPilot.p(), st.adoptPilot.n, 100*st.adoptBaseAll.p(), st.adoptBaseAll.n)
	t.Logf("sales cycle North: baseline mean %.1f d, pilot after 3 sprints (started >120 d before Now) %.1f d (%+.0f%%); win rate %.1f%% (n=%d); gate compliance baseline %.1f%% (n=%d), pilot %.1f%% (n=%d)",
		st.cycleBase, st.cyclePilot, 100*(st.cyclePilot/st.cycleBase-1), 100*st.winRate.p(), st.winRate.n,
		100*st.complianceBase.p(), st.complianceBase.n, 100*st.compliancePilot.p(), st.compliancePilot.n)
}

func TestStory(t *testing.T) {
	dir := t.TempDir()
	sum, err := Generate(context.Background(), dir, Options{Size: "small", Seed: 42, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v", sum)
	st := measure(t, dir, sum)
	logStory(t, st)
	checkStory(t, st)

	data, err := os.ReadFile(filepath.Join(dir, "ltc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("ltc.yaml", data, dir)
	if err != nil {
		t.Fatalf("ltc.yaml does not parse: %v", err)
	}
	if len(c.Sources) != 11 || c.KPI.SprintAnchor != sum.PilotStart.Format(time.DateOnly) || c.ETL.DeriveEvents {
		t.Errorf("config: %d sources, anchor %q, derive %v", len(c.Sources), c.KPI.SprintAnchor, c.ETL.DeriveEvents)
	}
	for _, s := range c.Sources {
		files, _ := filepath.Glob(c.Resolve(s.Glob))
		if len(files) == 0 {
			t.Errorf("source %s: glob %q matches no file", s.Name, s.Glob)
		}
	}
	if sum.PilotStart.Weekday() != time.Monday || sum.WaveStart.Weekday() != time.Monday {
		t.Errorf("pilot %v / wave %v not on a Monday", sum.PilotStart, sum.WaveStart)
	}
}

// checkStory applies the tolerances of the story (DESIGN §1).
func checkStory(t *testing.T, st story) {
	t.Helper()
	in := func(name string, v, lo, hi float64) {
		if v < lo || v > hi {
			t.Errorf("%s = %.3f, want in [%.3f, %.3f]", name, v, lo, hi)
		}
	}
	in("baseline lead conversion", st.baseConv.p(), 0.12, 0.18)
	in("pilot (North) lead conversion after start", st.northConv.p(), 0.21, 1)
	in("z North after vs baseline year (p < 0.01)", st.zNorth, 2.576, math.Inf(1))
	in("|z| Central after vs baseline year (not significant)", math.Abs(st.zCentral), 0, 2.576)
	// ≈35% of the sales cycle over all cases, as the value stream measures it (DESIGN §5.4); on the
	// complex branch alone, the only one with a solution design, about half.
	in("solution design share, all cases, baseline", st.sdShareAll, 0.29, 0.41)
	in("solution design share, complex, baseline", st.sdShareComplex, 0.38, 0.58)
	if st.bottleneck != "solution_design" {
		t.Errorf("baseline bottleneck = %s, want solution_design", st.bottleneck)
	}
	in("baseline adoption", st.adoptBase.p(), 0.35, 0.55)
	in("pilot adoption after 3 sprints", st.adoptPilot.p(), 0.75, 1)
	in("North sales cycle pilot/baseline", st.cyclePilot/st.cycleBase, 0.55, 0.9)
	in("win rate", st.winRate.p(), 0.28, 0.45)
	if st.compliancePilot.p() <= st.complianceBase.p() {
		t.Errorf("compliance did not improve: %.3f → %.3f", st.complianceBase.p(), st.compliancePilot.p())
	}
}

func BenchmarkGenerateSmall(b *testing.B) {
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := Generate(ctx, b.TempDir(), Options{Size: "small", Seed: int64(i), Now: testNow}); err != nil {
			b.Fatal(err)
		}
	}
}
