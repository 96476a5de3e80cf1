package kpi

import (
	"context"
	"testing"
	"time"
)

func TestFunnelFixture(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.Funnel(ctx, march(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Cohort by case start (first event of any tier): March = O1 03-01, O2 03-02, O3 03-03, O4 03-05,
	// O5 03-10, L6 03-14 (its personal "Intro call"), L7 03-20, O8 03-08, O11 03-31 23:59:59 = 9 cases
	// (L12 starts 04-01 00:00:00, outside). Previous [01-29, 03-01): O9, L10 = 2 cases.
	// Reached, current: LC all 9; LQ O1 O2 O3 O5 L6 O8 = 6; OC O1-O5 O8 = 6; NA O1 O2 O3 O5 O8 = 5;
	// SD O2 O3 = 2; SR O2 = 1; Q, CR, CS O1-O5 = 5; DS O1-O3 = 3; DA, INV, CC O1 O2 = 2.
	// Previous: LC 2 (O9, L10); every other stage but SD and SR: 1 (O9); SD, SR 0.
	want := []struct {
		stage     string
		cur, prev float64
	}{
		{"lead_created", 9, 2}, {"lead_qualified", 6, 1}, {"opportunity_created", 6, 1}, {"needs_analysis", 5, 1},
		{"solution_design", 2, 0}, {"solution_review", 1, 0}, {"quote", 5, 1}, {"contract_review", 5, 1},
		{"contract_signed", 5, 1}, {"delivery_started", 3, 1}, {"delivery_accepted", 2, 1}, {"invoiced", 2, 1},
		{"cash_collected", 2, 1},
	}
	st := bd.Total.Stages
	if len(st) != len(want) {
		t.Fatalf("%d stages, want %d", len(st), len(want))
	}
	for i, w := range want {
		if st[i].Stage != w.stage {
			t.Fatalf("stage %d = %s, want %s", i, st[i].Stage, w.stage)
		}
		checkValue(t, w.stage+" reached", st[i].Reached, w.cur, w.prev, 9, 2, f(w.cur-w.prev))
	}
	// From top: cash_collected 2/9 (prev 1/2); change 2/9 - 1/2.
	checkValue(t, "cc fromTop", st[12].FromTop, 2.0/9, 0.5, 9, 2, f(2.0/9-0.5))
	// From previous, per branch (O2, O3, O5 complex; the other cases standard): quote follows
	// needs_analysis on standard (reached by O1, O8; O1 also quoted) and solution_review on complex
	// (O2, which quoted): (1 + 1) / (2 + 1). Previous: O9 (standard) NA then Q: 1/1.
	checkValue(t, "quote fromPrevious", st[6].FromPrevious, 2.0/3, 1, 3, 1, f(2.0/3-1))
	// solution_design is on complex only, after needs_analysis: O2, O3, O5 reached NA, O2 and O3 SD:
	// 2/3; no complex case before: undefined, no change.
	checkValue(t, "sd fromPrevious", st[4].FromPrevious, 2.0/3, 0, 3, 0, nil)
	// lead_created is the first stage of both branches: 9/9.
	checkValue(t, "lc fromPrevious", st[0].FromPrevious, 1, 1, 9, 2, f(0))
	for _, s := range st {
		if s.FromPrevious.Value > 1 || s.FromTop.Value > 1 {
			t.Errorf("%s: conversion above 1: %+v", s.Stage, s)
		}
	}
	// Relative change of reached LC: (9-2)/2 = 3.5.
	if r := st[0].Reached.RelChange; r == nil || *r != 3.5 {
		t.Errorf("LC relChange = %v, want 3.5", r)
	}
}

func TestFunnelWindow(t *testing.T) {
	eng, _ := newFixture(t)
	w := 7
	bd, err := eng.Funnel(context.Background(), march(), &w)
	if err != nil {
		t.Fatal(err)
	}
	// Only first events within 7 days of the case start (first event ≤ start + 7 d):
	// O1 (≤03-08): LC LQ OC NA Q; O2 (≤03-09): LC LQ OC NA SD; O3 (≤03-10): LC LQ OC NA SD Q;
	// O4 (≤03-12): LC OC Q; O5 (≤03-17): LC LQ OC NA Q CR CS; L6: LC LQ; L7, O11: LC; O8: LC LQ OC NA.
	want := []float64{9, 6, 6, 5, 2, 0, 4, 1, 1, 0, 0, 0, 0}
	for i, w := range want {
		if got := bd.Total.Stages[i].Reached.Value; got != w {
			t.Errorf("%s reached = %v, want %v", bd.Total.Stages[i].Stage, got, w)
		}
	}
}

func TestFunnelGroupsAndSeries(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	s := march()
	s.GroupBy = []string{"business_unit"}
	bd, err := eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// North: O1 O2 O5 L6 O11 = 5 (previous O9 L10 = 2); South: O3 O4 L7 O8 = 4 (previous 0).
	if len(bd.Groups) != 2 || bd.Groups[0].Key["business_unit"] != "North" || bd.Groups[1].Key["business_unit"] != "South" {
		t.Fatalf("groups = %+v", bd.Groups)
	}
	checkValue(t, "North LC", bd.Groups[0].Result.Stages[0].Reached, 5, 2, 5, 2, f(3))
	checkValue(t, "South LC", bd.Groups[1].Result.Stages[0].Reached, 4, 0, 4, 0, f(4))
	// South LQ: O3, O8 (O4 skipped it, L7 has only LC) = 2/4 from the top; South's previous has no
	// cases: from-top undefined, no change.
	checkValue(t, "South LQ fromTop", bd.Groups[1].Result.Stages[1].FromTop, 2.0/4, 0, 4, 0, nil)

	// MONTH series over [02-01, 04-01): Feb O9 L10 = 2 (the bucket before, January, is empty:
	// previous 0, change +2); March 9 (previous: February's 2).
	s = Scope{From: at("02-01"), To: at("04-01 00:00:00"), Grain: GrainMonth}
	bd, err = eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bd.Series) != 2 || !bd.Series[0].Start.Equal(at("02-01")) || !bd.Series[1].Start.Equal(at("03-01")) {
		t.Fatalf("series = %+v", bd.Series)
	}
	checkValue(t, "Feb LC", bd.Series[0].Result.Stages[0].Reached, 2, 0, 2, 0, f(2))
	checkValue(t, "Mar LC", bd.Series[1].Result.Stages[0].Reached, 9, 2, 9, 2, f(7))

	// SPRINT buckets of 14 days from the anchor 2025-03-03 over March: 02-17 (O1, O2 = 2),
	// 03-03 (O3 O4 O8 O5 L6 = 5), 03-17 (L7 = 1), 03-31 (O11 = 1). The bucket before 02-17 is
	// 02-03: L10 (02-10) = 1.
	s = march()
	s.Grain = GrainSprint
	bd, err = eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	starts := []string{"02-17", "03-03", "03-17", "03-31"}
	counts := []float64{2, 5, 1, 1}
	prevs := []float64{1, 2, 5, 1}
	if len(bd.Series) != 4 {
		t.Fatalf("sprint series = %+v", bd.Series)
	}
	for i, p := range bd.Series {
		if !p.Start.Equal(at(starts[i])) || p.Result.Stages[0].Reached.Value != counts[i] || p.Result.Stages[0].Reached.Previous != prevs[i] {
			t.Errorf("sprint %d = %v %v (prev %v), want %s %v (prev %v)", i, p.Start, p.Result.Stages[0].Reached.Value,
				p.Result.Stages[0].Reached.Previous, starts[i], counts[i], prevs[i])
		}
	}
}

func TestLeadConversionAndWinRate(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.LeadConversion(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	// March leads: L1-L8, L11 = 9 (L12 at 04-01 00:00:00 is out); converted L1-L5 L8 L11 = 7.
	// Previous: L9 (converted), L10 = 1/2.
	checkValue(t, "lead conversion", bd.Total, 7.0/9, 0.5, 9, 2, f(7.0/9-0.5))
	if r := bd.Total.RelChange; r == nil || *r-(7.0/9-0.5)/0.5 > eps {
		t.Errorf("relChange = %v", r)
	}
	wr, err := eng.WinRate(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	// Closed in March: O1 O2 O3 O4 O5 won, O8 lost = 5/6; O11 is open. Previous: O9 won = 1/1.
	checkValue(t, "win rate", wr.Total, 5.0/6, 1, 6, 1, f(5.0/6-1))
}

func TestTimeZoneBoundary(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	// [03-31 00:00, 04-01 00:00) UTC given in UTC+2: includes O11/L11 at 03-31 23:59:59,
	// excludes L12 at 04-01 00:00:00.
	cest := time.FixedZone("CEST", 2*3600)
	s := Scope{From: time.Date(2025, 3, 31, 2, 0, 0, 0, cest), To: time.Date(2025, 4, 1, 2, 0, 0, 0, cest)}
	lc, err := eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// One lead (L11, converted) = 1/1; previous day [03-30, 03-31): none.
	checkValue(t, "lead conversion", lc.Total, 1, 0, 1, 0, nil)
	fu, err := eng.Funnel(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "LC reached", fu.Total.Stages[0].Reached, 1, 0, 1, 0, f(1))
}

func BenchmarkFunnel(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Funnel(ctx, s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "funnel", s) })
}

// BenchmarkFunnelByRegionMonthly is conversion by region by month: one funnel request grouped by
// region with a monthly series per group (each group's own series from the same scan).
func BenchmarkFunnelByRegionMonthly(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	s.GroupBy, s.Grain = []string{"region"}, GrainMonth
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Funnel(ctx, s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "funnelByRegionMonthly", s) })
}

func BenchmarkLeadConversion(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.LeadConversion(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "leadConversion", s) })
}

func BenchmarkWinRate(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	s := benchScope()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.WinRate(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "winRate", s) })
	b.Run("monthly", func(b *testing.B) {
		m := s
		m.GroupBy, m.Grain = nil, GrainMonth
		for b.Loop() {
			if _, err := eng.WinRate(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestLeadConversionByStatusAndConvertedAt: a lead is converted when it has an opportunity, a
// converted_at, or the status `converted` (DESIGN §5.2), e.g. a lead-scoring export whose 0/1
// column a value map turns into a status.
func TestLeadConversionByStatusAndConvertedAt(t *testing.T) {
	eng, db := newFixture(t)
	ctx := context.Background()
	for _, l := range []struct {
		id, created, status string
		convertedAt         any
	}{
		{"L20", "03-05", "converted", nil},    // by status
		{"L21", "03-06", "open", at("03-09")}, // by converted_at
		{"L22", "03-07", "open", nil},         // not converted
		{"L23", "03-08", "", nil},             // not converted (no status)
	} {
		if _, err := db.Write.ExecContext(ctx, `INSERT INTO leads (lead_id, created_at, business_unit, status, converted_at, _file)
			VALUES (?, ?, 'West', NULLIF(?, ''), ?, 'fixture')`, l.id, at(l.created), l.status, l.convertedAt); err != nil {
			t.Fatal(err)
		}
	}
	refresh(t, eng, db)
	s := march()
	s.GroupBy = []string{"business_unit"}
	bd, err := eng.LeadConversion(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	// March: the fixture's 7 of 9, plus L20 and L21 of L20-L23: 9/13. West alone: 2/4.
	checkValue(t, "lead conversion", bd.Total, 9.0/13, 0.5, 13, 2, f(9.0/13-0.5))
	found := false
	for _, g := range bd.Groups {
		if g.Key["business_unit"] == "West" {
			found = true
			checkValue(t, "West", g.Result, 0.5, 0, 4, 0, nil)
		}
	}
	if !found {
		t.Error("no West group")
	}
}

// TestPartialPeriods: a period or bucket that has not ended by the engine's now (2025-06-01 in
// the fixture) is flagged incomplete, so it is drawn as partial, not as a drop.
func TestPartialPeriods(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	bd, err := eng.WinRate(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	if !bd.Complete {
		t.Error("March is complete on June 1")
	}
	s := Scope{From: at("05-01"), To: at("07-01"), Grain: GrainMonth}
	bd, err = eng.WinRate(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if bd.Complete || len(bd.Series) != 2 || !bd.Series[0].Complete || bd.Series[1].Complete ||
		!bd.Series[0].End.Equal(at("06-01")) || !bd.Series[1].End.Equal(at("07-01")) {
		t.Errorf("May–June on June 1: complete %v, series %+v", bd.Complete, bd.Series)
	}
	cash, err := eng.Cash(ctx, Scope{From: at("05-15"), To: at("06-15"), Grain: GrainMonth})
	if err != nil {
		t.Fatal(err)
	}
	// Buckets May (from 05-01, capped at nothing: ends 06-01, complete) and June (ends at To 06-15).
	if cash.Complete || !cash.Series[0].Complete || cash.Series[1].Complete || !cash.Series[1].End.Equal(at("06-15")) {
		t.Errorf("cash series %+v", cash.Series)
	}
}
