package initiative

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Spec declares a change initiative in ltc.yaml (DESIGN §5.8), under `initiatives:`:
//
//	initiatives:
//	  - id: north-pilot
//	    name: North pilot of the new LTC process
//	    pilot_units: [North]
//	    control_units: [Central]          # optional
//	    baseline: {from: 2025-01-05, to: 2025-12-29}
//	    start: 2025-12-29                 # first day of sprint 1
//	    sprint_days: 14                   # optional, default 14
//	    waves:                            # optional rollout waves
//	      - {business_unit: South, planned: 2026-06-29}
//	    targets: {lead_conversion: 0.25, sales_cycle: 30, adoption: 0.85}
//
// Dates are YYYY-MM-DD (midnight UTC) or RFC 3339 instants. The warehouse stores the declared
// initiatives at start (Service.Sync); units are checked against the data there.
type Spec struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	PilotUnits   []string `yaml:"pilot_units"`
	ControlUnits []string `yaml:"control_units"`
	Baseline     struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"baseline"`
	Start string `yaml:"start"`
	// SprintDays is the sprint length; nil means DefaultSprintDays (an explicit 0 is an error).
	SprintDays *int `yaml:"sprint_days"`
	Waves      []struct {
		BusinessUnit string `yaml:"business_unit"`
		Planned      string `yaml:"planned"`
	} `yaml:"waves"`
	// Targets maps a KPI (lead_conversion, win_rate, sales_cycle, adoption, compliance) to its
	// target: a fraction for rates, days for the sales cycle.
	Targets map[string]float64 `yaml:"targets"`
}

// parseWhen parses a date (YYYY-MM-DD, midnight UTC) or an RFC 3339 instant.
func parseWhen(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is required", field)
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want YYYY-MM-DD or an RFC 3339 time", field, s)
}

// Initiative converts the spec to the engine's definition and validates what can be checked
// without data (Initiative.Validate); errors wrap ErrBadInitiative.
func (s Spec) Initiative() (Initiative, error) {
	in := Initiative{ID: s.ID, Name: s.Name, Description: s.Description, PilotUnits: s.PilotUnits,
		ControlUnits: s.ControlUnits, SprintDays: DefaultSprintDays, Source: SourceConfig}
	if s.SprintDays != nil {
		in.SprintDays = *s.SprintDays
	}
	var errs []error
	var err error
	if in.BaselineFrom, err = parseWhen("baseline.from", s.Baseline.From); err != nil {
		errs = append(errs, err)
	}
	if in.BaselineTo, err = parseWhen("baseline.to", s.Baseline.To); err != nil {
		errs = append(errs, err)
	}
	if in.Start, err = parseWhen("start", s.Start); err != nil {
		errs = append(errs, err)
	}
	for i, w := range s.Waves {
		at, err := parseWhen(fmt.Sprintf("waves[%d].planned", i), w.Planned)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in.Waves = append(in.Waves, Wave{BusinessUnit: w.BusinessUnit, PlannedAt: at})
	}
	keys := make([]string, 0, len(s.Targets))
	for k := range s.Targets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		in.Targets = append(in.Targets, Target{KPI: KPI(k), Value: s.Targets[k]})
	}
	if len(errs) > 0 {
		return in, fmt.Errorf("%w %q: %w", ErrBadInitiative, s.ID, errors.Join(errs...))
	}
	if err := in.Validate(); err != nil {
		return in, err
	}
	return in, nil
}
