package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/initiative"
)

func TestInitiativesParse(t *testing.T) {
	c, err := Parse("ltc.yaml", []byte(`
initiatives:
  - id: north-pilot
    name: North pilot
    pilot_units: [North]
    control_units: [Central]
    baseline: {from: 2025-01-06, to: "2025-12-29T00:00:00+01:00"}  # zones are honoured: 12-28 23:00 UTC
    start: "2025-12-29T00:00:00+01:00"
    waves:
      - {business_unit: South, planned: 2026-06-29}
    targets: {lead_conversion: 0.25, sales_cycle: 30}
  - id: east
    name: East
    pilot_units: [East]
    baseline: {from: 2025-01-01, to: 2025-06-01}
    start: 2025-06-01
    sprint_days: 7
`), "/tmp")
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.InitiativeList()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("%d initiatives", len(list))
	}
	n := list[0]
	if n.ID != "north-pilot" || n.SprintDays != initiative.DefaultSprintDays || n.Source != initiative.SourceConfig ||
		!n.Start.Equal(time.Date(2025, 12, 28, 23, 0, 0, 0, time.UTC)) ||
		!n.BaselineFrom.Equal(time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)) ||
		len(n.Waves) != 1 || n.Waves[0].BusinessUnit != "South" || len(n.Targets) != 2 || n.Targets[0].KPI != initiative.KPILeadConversion {
		t.Errorf("north: %+v", n)
	}
	if list[1].SprintDays != 7 || list[1].ControlUnits != nil {
		t.Errorf("east: %+v", list[1])
	}
}

func TestInitiativesValidation(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(`
initiatives:
  - id: overlap
    name: Overlap
    pilot_units: [North]
    baseline: {from: 2025-01-01, to: 2025-07-01}
    start: 2025-06-01
  - id: sprint
    name: Zero sprint
    pilot_units: [North]
    baseline: {from: 2025-01-01, to: 2025-06-01}
    start: 2025-06-01
    sprint_days: 0
  - id: wave
    name: Early wave
    pilot_units: [North]
    baseline: {from: 2025-01-01, to: 2025-06-01}
    start: 2025-06-01
    waves: [{business_unit: South, planned: 2025-05-01}]
    targets: {happiness: 1}
  - id: dates
    name: Bad dates
    pilot_units: [North, North]
    baseline: {from: "June", to: 2025-06-01}
  - id: wave
    name: duplicate
    pilot_units: [X]
    baseline: {from: 2025-01-01, to: 2025-06-01}
    start: 2025-06-01
`), "/tmp")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`initiatives[0]: bad initiative "overlap": baseline window overlaps the pilot: baseline ends 2025-07-01, after the pilot start 2025-06-01`,
		`initiatives[1]: bad initiative "sprint": bad sprint length: 0 days`,
		`initiatives[2]: bad initiative "wave": rollout wave before the pilot start: "South" planned 2025-05-01`,
		`target on unknown KPI "happiness"`,
		`baseline.from "June": want YYYY-MM-DD`,
		`start is required`,
		`initiatives[4]: bad initiative "wave": duplicate id`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, sentinel := range []error{initiative.ErrBadInitiative, initiative.ErrOverlappingWindows, initiative.ErrBadSprint, initiative.ErrWaveBeforeStart} {
		if !errors.Is(err, sentinel) {
			t.Errorf("error does not wrap %v", sentinel)
		}
	}
}
