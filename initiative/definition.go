package initiative

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/schema/kpi"
)

// This file is an initiative's definition: its KPIs, fields, validation and sprints.

// KPI names a KPI an initiative is measured by.
type KPI string

// The KPIs of initiative analytics. Rates are tested with the two-proportion z-test, the sales
// cycle (days per case) with the Mann–Whitney U test.
const (
	// KPILeadConversion is leads converted / leads created, by lead created_at (DESIGN §5.2).
	KPILeadConversion KPI = "lead_conversion"
	// KPIWinRate is won / (won + lost), by closed_at (DESIGN §5.2).
	KPIWinRate KPI = "win_rate"
	// KPISalesCycle is the median sales cycle in days (first won − case start), by the won time
	// (DESIGN §5.3).
	KPISalesCycle KPI = "sales_cycle"
	// KPIAdoption is the process adoption rate, by case start (DESIGN §5.5).
	KPIAdoption KPI = "adoption"
	// KPICompliance is the gate compliance rate, by first entry of a guarded stage (DESIGN §5.6).
	KPICompliance KPI = "compliance"
)

// KPIs returns the KPIs initiatives are measured by, in display order.
func KPIs() []KPI {
	return []KPI{KPILeadConversion, KPIWinRate, KPISalesCycle, KPIAdoption, KPICompliance}
}

// IsRate reports whether the KPI is a proportion (tested with the z-test) rather than a duration.
func (k KPI) IsRate() bool { return k != KPISalesCycle }

// Valid reports whether k is one of KPIs.
func (k KPI) Valid() bool { return slices.Contains(KPIs(), k) }

// DefaultSprintDays is the sprint length when a definition leaves it out.
const DefaultSprintDays = 14

// Initiative sources.
const (
	SourceConfig = "config" // declared in ltc.yaml; Service.Sync owns it
	SourceAPI    = "api"    // created through the API
)

// Sentinel errors of initiatives. A bad definition wraps ErrBadInitiative and, for the common
// mistakes, one or more of the specific errors below, so the API can map each to a code.
var (
	// ErrBadInitiative reports an invalid initiative definition (API code BAD_INITIATIVE).
	ErrBadInitiative = errors.New("bad initiative")
	// ErrInitiativeNotFound reports an initiative id that is not stored (API code NOT_FOUND).
	ErrInitiativeNotFound = errors.New("initiative not found")
	// ErrOverlappingWindows: the baseline window reaches past the pilot start (OVERLAPPING_WINDOWS).
	ErrOverlappingWindows = errors.New("baseline window overlaps the pilot")
	// ErrUnknownUnit: a business unit that does not occur in the data (UNKNOWN_UNIT).
	ErrUnknownUnit = errors.New("unknown business unit")
	// ErrBadSprint: a sprint length of zero days or less, or above MaxSprintDays (BAD_SPRINT).
	ErrBadSprint = errors.New("bad sprint length")
	// ErrWaveBeforeStart: a rollout wave planned before the pilot start (WAVE_BEFORE_START).
	ErrWaveBeforeStart = errors.New("rollout wave before the pilot start")
	// ErrConfigOwned: an API change to an initiative the config declares (wrapped with
	// ErrBadInitiative: API code BAD_INITIATIVE).
	ErrConfigOwned = errors.New("initiative owned by the config")
)

// MaxSprintDays bounds the sprint length.
const MaxSprintDays = 366

// maxSprints bounds a per-sprint series.
const maxSprints = 520

// Wave is one rollout wave: a business unit and the date it adopts the new process.
type Wave struct {
	BusinessUnit string    `json:"businessUnit"`
	PlannedAt    time.Time `json:"plannedAt"`
}

// Target is the value an initiative aims for on a KPI: a fraction in [0, 1] for rates, days for
// the sales cycle.
type Target struct {
	KPI   KPI     `json:"kpi"`
	Value float64 `json:"value"`
}

// Initiative is a pilot and its rollout. Times are instants (stored in UTC); windows are half-open.
type Initiative struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// PilotUnits run the new process from Start; ControlUnits (optional) keep the old one.
	PilotUnits   []string `json:"pilotUnits"`
	ControlUnits []string `json:"controlUnits"`
	// BaselineFrom and BaselineTo bound the baseline window [BaselineFrom, BaselineTo); it must end
	// at or before Start.
	BaselineFrom time.Time `json:"baselineFrom"`
	BaselineTo   time.Time `json:"baselineTo"`
	// Start is the first instant of sprint 1; sprint k (1-based) is
	// [Start + (k−1)·SprintDays·24h, Start + k·SprintDays·24h).
	Start time.Time `json:"start"`
	// SprintDays is the sprint length in days (> 0; callers default it to DefaultSprintDays).
	SprintDays int      `json:"sprintDays"`
	Waves      []Wave   `json:"waves"`
	Targets    []Target `json:"targets"`
	// Source is SourceConfig or SourceAPI (set by the store); UpdatedAt is the last upsert (UTC).
	Source    string    `json:"source"`
	UpdatedAt time.Time `json:"updatedAt"`
}

var initiativeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// normalized returns a copy with times in UTC, names trimmed and waves and targets sorted.
func (in Initiative) normalized() Initiative {
	out := in
	out.ID = strings.TrimSpace(in.ID)
	out.Name = strings.TrimSpace(in.Name)
	trim := func(xs []string) []string {
		r := make([]string, 0, len(xs))
		for _, x := range xs {
			r = append(r, strings.TrimSpace(x))
		}
		return r
	}
	out.PilotUnits = trim(in.PilotUnits)
	out.ControlUnits = trim(in.ControlUnits)
	out.BaselineFrom, out.BaselineTo, out.Start = in.BaselineFrom.UTC(), in.BaselineTo.UTC(), in.Start.UTC()
	out.Waves = make([]Wave, len(in.Waves))
	for i, w := range in.Waves {
		out.Waves[i] = Wave{BusinessUnit: strings.TrimSpace(w.BusinessUnit), PlannedAt: w.PlannedAt.UTC()}
	}
	sort.SliceStable(out.Waves, func(i, j int) bool {
		if !out.Waves[i].PlannedAt.Equal(out.Waves[j].PlannedAt) {
			return out.Waves[i].PlannedAt.Before(out.Waves[j].PlannedAt)
		}
		return out.Waves[i].BusinessUnit < out.Waves[j].BusinessUnit
	})
	out.Targets = slices.Clone(in.Targets)
	sort.SliceStable(out.Targets, func(i, j int) bool { return out.Targets[i].KPI < out.Targets[j].KPI })
	if out.Source == "" {
		out.Source = SourceAPI
	}
	return out
}

// Validate reports every problem of a definition that can be seen without data, as one error
// wrapping ErrBadInitiative and the specific sentinels (ErrOverlappingWindows, ErrBadSprint,
// ErrWaveBeforeStart). Unknown units need the data: Service.Upsert checks those.
func (in Initiative) Validate() error {
	in = in.normalized()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !initiativeID.MatchString(in.ID) {
		bad("id %q: want 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", in.ID)
	}
	if in.Name == "" {
		bad("name is required")
	}
	if len(in.PilotUnits) == 0 {
		bad("at least one pilot unit is required")
	}
	seen := map[string]string{}
	for _, u := range in.PilotUnits {
		if u == "" {
			bad("empty pilot unit")
		} else if seen[u] != "" {
			bad("pilot unit %q listed twice", u)
		}
		seen[u] = "pilot"
	}
	for _, u := range in.ControlUnits {
		switch {
		case u == "":
			bad("empty control unit")
		case seen[u] == "pilot":
			bad("unit %q is both pilot and control", u)
		case seen[u] != "":
			bad("control unit %q listed twice", u)
		}
		seen[u] = "control"
	}
	zero := func(name string, t time.Time) bool {
		if t.IsZero() || t.Year() < 1900 || t.Year() > 9999 {
			bad("%s is required (a date between 1900 and 9999)", name)
			return true
		}
		return false
	}
	zb, zt, zs := zero("baselineFrom", in.BaselineFrom), zero("baselineTo", in.BaselineTo), zero("start", in.Start)
	if !zb && !zt && !in.BaselineFrom.Before(in.BaselineTo) {
		bad("baseline window [%s, %s) is empty", day(in.BaselineFrom), day(in.BaselineTo))
	}
	if !zt && !zs && in.BaselineTo.After(in.Start) {
		errs = append(errs, fmt.Errorf("%w: baseline ends %s, after the pilot start %s", ErrOverlappingWindows, day(in.BaselineTo), day(in.Start)))
	}
	if in.SprintDays <= 0 || in.SprintDays > MaxSprintDays {
		errs = append(errs, fmt.Errorf("%w: %d days (want 1..%d)", ErrBadSprint, in.SprintDays, MaxSprintDays))
	}
	waved := map[string]bool{}
	for _, w := range in.Waves {
		switch {
		case w.BusinessUnit == "":
			bad("wave with an empty business unit")
		case seen[w.BusinessUnit] == "pilot":
			bad("wave unit %q is a pilot unit (pilot units start at the start date)", w.BusinessUnit)
		case seen[w.BusinessUnit] == "control":
			bad("wave unit %q is a control unit", w.BusinessUnit)
		case waved[w.BusinessUnit]:
			bad("wave unit %q listed twice", w.BusinessUnit)
		}
		waved[w.BusinessUnit] = true
		if !zero("wave "+w.BusinessUnit+" plannedAt", w.PlannedAt) && !zs && w.PlannedAt.Before(in.Start) {
			errs = append(errs, fmt.Errorf("%w: %q planned %s, before %s", ErrWaveBeforeStart, w.BusinessUnit, day(w.PlannedAt), day(in.Start)))
		}
	}
	targeted := map[KPI]bool{}
	for _, t := range in.Targets {
		switch {
		case !t.KPI.Valid():
			bad("target on unknown KPI %q (want one of %s)", t.KPI, kpiList())
		case targeted[t.KPI]:
			bad("two targets on %s", t.KPI)
		case math.IsNaN(t.Value) || math.IsInf(t.Value, 0):
			bad("target on %s is not a number", t.KPI)
		case t.KPI.IsRate() && (t.Value < 0 || t.Value > 1):
			bad("target on %s is %v: rates are fractions in [0, 1]", t.KPI, t.Value)
		case !t.KPI.IsRate() && t.Value < 0:
			bad("target on %s is negative", t.KPI)
		}
		targeted[t.KPI] = true
	}
	if in.Source != SourceAPI && in.Source != SourceConfig {
		bad("source %q (want %s or %s)", in.Source, SourceAPI, SourceConfig)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w %q: %w", ErrBadInitiative, in.ID, errors.Join(errs...))
}

func kpiList() string {
	var s []string
	for _, k := range KPIs() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func day(t time.Time) string {
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339)
}

// Target returns the target on k, if any.
func (in Initiative) Target(k KPI) (float64, bool) {
	for _, t := range in.Targets {
		if t.KPI == k {
			return t.Value, true
		}
	}
	return 0, false
}

// sprint returns the sprint length.
func (in Initiative) sprint() time.Duration { return time.Duration(in.SprintDays) * 24 * time.Hour }

// sprintWindows returns the sprints of in that started before asOf: [Start + k·len, Start +
// (k+1)·len), the last one capped at asOf. Sprints are fixed multiples of 24 h in UTC, so a
// daylight-saving change in a local zone does not move them.
func sprintWindows(in Initiative, asOf time.Time) [][2]time.Time {
	var out [][2]time.Time
	step := in.sprint()
	if step <= 0 {
		return nil
	}
	for s := in.Start; s.Before(asOf) && len(out) <= maxSprints; s = s.Add(step) {
		end := s.Add(step)
		if end.After(asOf) {
			end = asOf
		}
		out = append(out, [2]time.Time{s, end})
	}
	return out
}

// SprintOf returns the 1-based sprint of in that contains t, or 0 when t is before the start.
func (in Initiative) SprintOf(t time.Time) int {
	if in.SprintDays <= 0 || t.Before(in.Start) {
		return 0
	}
	return int(t.Sub(in.Start)/in.sprint()) + 1
}

// Meets reports whether value meets target for a KPI whose better direction is d: at or above
// it when higher is better, at or below it when lower is better. The one rule behind "reached"
// and "behind plan".
func Meets(d kpi.Direction, value, target float64) bool {
	if d == kpi.LowerIsBetter {
		return value <= target
	}
	return value >= target
}

// Direction returns the catalog direction of an initiative KPI.
func (k KPI) Direction() kpi.Direction {
	c, _ := kpi.LookupKPI(string(k))
	return c.Direction
}
