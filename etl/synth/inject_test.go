package synth

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseInjection(t *testing.T) {
	in, err := ParseInjection("lead_conversion=-25%@2026-09-01:North")
	if err != nil {
		t.Fatal(err)
	}
	want := Injection{KPI: "lead_conversion", Change: -0.25, From: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), Unit: "North"}
	if in != want {
		t.Errorf("got %+v, want %+v", in, want)
	}
	if s := in.String(); s != "lead_conversion=-25%@2026-09-01:North" {
		t.Errorf("String() = %q", s)
	}
	if in, err := ParseInjection("gate_compliance=+10.5%@2026-01-31:Central"); err != nil || in.Change != 0.105 {
		t.Errorf("gate_compliance: %+v, %v", in, err)
	}
	if in, err := ParseInjection("gate_compliance=-25%@2026-09-07:*"); err != nil || in.Unit != AllUnits {
		t.Errorf("all units: %+v, %v", in, err)
	}
	for _, bad := range []string{
		"lead_conversion=-25@2026-09-01:North",   // no %
		"lead_conversion=-25%@2026-13-01:North",  // no such month
		"win_ratio=-25%@2026-09-01:North",        // not injectable
		"lead_conversion=-100%@2026-09-01:North", // nothing left
		"lead_conversion=-25%@2026-09-01:West",   // no such unit
		"lead_conversion=-25%@2026-09-01",        // no unit
	} {
		if _, err := ParseInjection(bad); err == nil {
			t.Errorf("ParseInjection(%q): want an error", bad)
		}
	}
}

// TestInjectedAllUnits: an injection into AllUnits scales the chance in every unit from its date on,
// one into a unit only there.
func TestInjectedAllUnits(t *testing.T) {
	from := time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)
	g := &gen{inject: []Injection{
		{KPI: "gate_compliance", Change: -0.25, From: from, Unit: AllUnits},
		{KPI: "lead_conversion", Change: -0.5, From: from, Unit: "South"},
	}}
	for bu, name := range buNames {
		if f := g.injected("gate_compliance", bu, from.Unix()); f != 0.75 {
			t.Errorf("%s gate_compliance at %v: factor %v, want 0.75", name, from, f)
		}
		if f := g.injected("gate_compliance", bu, from.Unix()-1); f != 1 {
			t.Errorf("%s gate_compliance before %v: factor %v, want 1", name, from, f)
		}
		want := 1.0
		if name == "South" {
			want = 0.5
		}
		if f := g.injected("lead_conversion", bu, from.Unix()); f != want {
			t.Errorf("%s lead_conversion: factor %v, want %v", name, f, want)
		}
	}
}

// TestInjectedDrop generates the small demo with and without a 50% lead-conversion drop in North from
// a date: every lead created before the date is the same row in both, and North's leads after it
// convert about half as often (the other units are unaffected).
func TestInjectedDrop(t *testing.T) {
	ctx := context.Background()
	from := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	in := Injection{KPI: "lead_conversion", Change: -0.5, From: from, Unit: "North"}
	base, drop := t.TempDir(), t.TempDir()
	if _, err := Generate(ctx, base, Options{Size: "small", Seed: 3, Now: testNow}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(ctx, drop, Options{Size: "small", Seed: 3, Now: testNow, Inject: []Injection{in}}); err != nil {
		t.Fatal(err)
	}
	a, b := readLeads(t, base), readLeads(t, drop)
	if len(a) != len(b) {
		t.Fatalf("%d vs %d leads", len(a), len(b))
	}
	// rate[unit][injected?] counts converted / leads created on or after from.
	type count struct{ leads, converted int }
	after := map[string][2]count{}
	for i := range a {
		if created(t, a[i]).Before(from) && !equalRows(a[i], b[i]) {
			t.Fatalf("lead %d created before the injection differs:\n%v\n%v", i, a[i], b[i])
		}
	}
	// The random stream diverges at the first changed draw, so each side is counted on its own.
	for k, leads := range [][]map[string]string{a, b} {
		for _, row := range leads {
			if created(t, row).Before(from) {
				continue
			}
			c := after[row["business_unit"]]
			c[k].leads++
			if row["opportunity_id"] != "" {
				c[k].converted++
			}
			after[row["business_unit"]] = c
		}
	}
	for unit, c := range after {
		r0 := float64(c[0].converted) / float64(c[0].leads)
		r1 := float64(c[1].converted) / float64(c[1].leads)
		want := r0
		if unit == "North" {
			want = r0 / 2
		}
		// The quota keeps a unit's count within a few of its expectation; 15% of the rate is loose.
		if c[0].leads < 200 || r1 < want*0.85 || r1 > want*1.15 {
			t.Errorf("%s after %v: %d leads, conversion %.3f without, %.3f with the injection; want about %.3f",
				unit, from.Format(time.DateOnly), c[0].leads, r0, r1, want)
		}
	}
}

func created(t *testing.T, row map[string]string) time.Time {
	t.Helper()
	c, err := time.Parse(time.DateTime, row["created_at"])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readLeads(t *testing.T, dir string) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "leads.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func equalRows(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
