package kpi

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/ltc-analytics/ltc/schema"
)

// customModel is the standard model with every stage id renamed to "s_<id>" (activities, names,
// milestones, gates and branches unchanged): a user's process naming its stages its own way.
func customModel(t *testing.T, edit func(string) string) *schema.Model {
	t.Helper()
	data, err := os.ReadFile("../ltc-standard.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := regexp.MustCompile(`(id|guards|iron_triangle_after): ([a-z_]+)`).ReplaceAllStringFunc(string(data), func(m string) string {
		k, v, _ := strings.Cut(m, ": ")
		if k == "id" && (v == "standard" || v == "complex") { // branch ids stay
			return m
		}
		return k + ": s_" + v
	})
	if edit != nil {
		y = edit(y)
	}
	m, err := schema.ParseModel("custom.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// answers returns every KPI family's answer over the March scope, grouped by business unit, as
// JSON, with stage ids prefixed "s_" read as the standard ones.
func answers(t *testing.T, eng *Engine) map[string]string {
	t.Helper()
	ctx := context.Background()
	s := march()
	s.GroupBy = []string{"business_unit"}
	w := 10
	out := map[string]string{}
	add := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = strings.ReplaceAll(string(b), `"s_`, `"`)
	}
	v1, err := eng.LeadConversion(ctx, s)
	add("leadConversion", v1, err)
	v2, err := eng.WinRate(ctx, s)
	add("winRate", v2, err)
	v3, err := eng.Funnel(ctx, s, nil)
	add("funnel", v3, err)
	v4, err := eng.Funnel(ctx, s, &w)
	add("funnel window", v4, err)
	v5, err := eng.CycleTimes(ctx, s)
	add("cycleTimes", v5, err)
	for _, c := range Cycles() {
		v, err := eng.ValueStreamOf(ctx, s, c)
		add("valueStream "+string(c), v, err)
	}
	v6, err := eng.Variants(ctx, s, 10)
	add("variants", v6, err)
	v7, err := eng.Adoption(ctx, s)
	add("adoption", v7, err)
	v8, err := eng.Compliance(ctx, s)
	add("compliance", v8, err)
	v9, err := eng.Cash(ctx, s)
	add("cash", v9, err)
	v10, err := eng.Violations(ctx, s, 50, "")
	add("violations", v10, err)
	v11, err := eng.Diagnose(ctx, s)
	add("diagnosis", v11, err)
	return out
}

// TestCustomStageIDsSameAnswers: the engine names no stage id, so the same data under a model
// with other stage ids (and the same milestones) gives equal answers for every KPI family.
func TestCustomStageIDsSameAnswers(t *testing.T) {
	std, _ := newFixture(t)
	custom, _ := newFixtureModel(t, customModel(t, nil))
	want, got := answers(t, std), answers(t, custom)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s differs under custom stage ids:\n got %s\nwant %s", name, got[name], w)
		}
	}
	// The answers are not trivially empty: the sales cycle has the five March signatures.
	ct, err := custom.CycleTimes(context.Background(), march())
	if err != nil {
		t.Fatal(err)
	}
	if ct.Total.Sales.P50.N != 5 {
		t.Errorf("custom model sales cycle n = %d, want 5", ct.Total.Sales.P50.N)
	}
}

// TestMissingMilestoneNotConfigured: a model that does not mark `won` answers NOT_CONFIGURED for
// the cycles that need it (never a silent 0), and still serves the others.
func TestMissingMilestoneNotConfigured(t *testing.T) {
	ctx := context.Background()
	noWon, _ := newFixtureModel(t, customModel(t, func(y string) string {
		return strings.Replace(y, ", milestone: won}", "}", 1)
	}))
	for _, c := range []Cycle{CycleSales, CycleDelivery} {
		err := noWon.CycleConfigured(c)
		var nc *NotConfiguredError
		if !errors.Is(err, ErrNotConfigured) || !errors.As(err, &nc) || nc.Milestones[0] != "won" {
			t.Errorf("%s without won: err = %v, want NOT_CONFIGURED naming won", c, err)
		}
		if _, err := noWon.ValueStreamOf(ctx, march(), c); !errors.Is(err, ErrNotConfigured) {
			t.Errorf("ValueStreamOf(%s) without won: err = %v, want ErrNotConfigured", c, err)
		}
	}
	if err := noWon.CycleConfigured(CycleCash); err != nil {
		t.Errorf("cash cycle without won: %v", err)
	}
	// The cash cycle still answers: I1 03-21 → P1 03-31 (10 days), I2 03-26 → P2 03-30 (4 days).
	ct, err := noWon.CycleTimes(ctx, march())
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "cash p50", ct.Total.Cash.P50, 7, 10, 2, 1, f(-3))

	bare, _ := newFixtureModel(t, customModel(t, func(y string) string {
		return regexp.MustCompile(`, milestone: [a-z_]+`).ReplaceAllString(y, "")
	}))
	if _, err := bare.CycleTimes(ctx, march()); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("CycleTimes with no milestones: err = %v, want ErrNotConfigured", err)
	}
	// Initiatives measure the sales cycle through SalesCycles.
	if _, err := bare.SalesCycles(ctx, []string{"North"}, at("02-01"), at("03-01")); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("per-case sales cycles with no milestones: err = %v, want ErrNotConfigured", err)
	}
}

// TestRepeatableStageNoRework: a repeatable stage is never rework, however often it occurs.
func TestRepeatableStageNoRework(t *testing.T) {
	eng, _ := newFixtureModel(t, customModel(t, func(y string) string {
		return strings.Replace(y, `activities: ["Needs Analysis"], template: true}`, `activities: ["Needs Analysis"], template: true, repeatable: true}`, 1)
	}))
	v, err := eng.ValueStreamOf(context.Background(), march(), CycleLeadToCash)
	if err != nil {
		t.Fatal(err)
	}
	// O2 has NA twice; NA is repeatable: 0 of the 5 cases reaching NA in March (O1 O2 O3 O5 O8).
	checkValue(t, "NA rework (repeatable)", v.Total.Stages[3].Rework, 0, 0, 5, 1, f(0))
	// SR is not repeatable: O2's fail-then-pass is rework 1/1.
	checkValue(t, "SR rework", v.Total.Stages[5].Rework, 1, 0, 1, 0, nil)
}
