package kpi

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestCasesAndTimeline(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	// Cases of March that reached quote, by start: O1 03-01, O2 03-02, O3 03-03, O4 03-05, O5 03-10.
	var ids []string
	after := ""
	for {
		p, err := eng.Cases(ctx, march(), CaseFilter{StageReached: "quote"}, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			ids = append(ids, r.CaseID)
		}
		if !p.HasNextPage {
			break
		}
		after = p.EndCursor
	}
	if got := fmt.Sprint(ids); got != "[O1 O2 O3 O4 O5]" {
		t.Errorf("quote cases = %s", got)
	}
	// Violated contract_review: O2 (late), O4 (late), O5 (failed). O5's branch comes from its
	// opportunity (complex), its team from owner E1 (Alpha), its channel from lead L5 (Event).
	p, err := eng.Cases(ctx, march(), CaseFilter{GateViolated: "contract_review"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rows) != 3 || p.Rows[2].CaseID != "O5" {
		t.Fatalf("violators = %+v", p.Rows)
	}
	o5 := p.Rows[2]
	if o5.Branch != "complex" || o5.Team != "Alpha" || o5.Channel != "Event" || o5.Furthest != "contract_signed" || o5.Adopted {
		t.Errorf("O5 = %+v", o5)
	}
	if _, err := eng.Cases(ctx, march(), CaseFilter{StageReached: "nope"}, 10, ""); !errors.Is(err, ErrUnknownStage) {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := eng.Cases(ctx, march(), CaseFilter{GateViolated: "quote"}, 10, ""); !errors.Is(err, ErrUnknownStage) {
		t.Errorf("not a gate: %v", err)
	}
	// O1's timeline: 12 events, the personal "Coffee chat" (no stage) 5th.
	tl, err := eng.Timeline(ctx, "O1")
	if err != nil {
		t.Fatal(err)
	}
	if len(tl) != 12 || tl[4].Activity != "Coffee chat" || tl[4].Stage != "" || tl[0].Stage != "lead_created" {
		t.Errorf("timeline = %+v", tl)
	}
	// O4: equal timestamps, seq decides: contract_signed (5) before contract_review (6).
	tl, err = eng.Timeline(ctx, "O4")
	if err != nil {
		t.Fatal(err)
	}
	if tl[3].Stage != "contract_signed" || tl[4].Stage != "contract_review" {
		t.Errorf("O4 timeline = %+v", tl)
	}
}

func BenchmarkDrilldown(b *testing.B) {
	eng := benchEngine(b)
	ctx := context.Background()
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Cases(ctx, benchScope(), CaseFilter{GateViolated: "contract_review"}, 50, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("naive", func(b *testing.B) { naive(b, "drilldown", benchScope()) })
	b.Run("timeline", func(b *testing.B) {
		for b.Loop() {
			if _, err := eng.Timeline(ctx, "O12345"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
