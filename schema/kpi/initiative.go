package kpi

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Change initiatives (DESIGN §1 stages 3–4, §5.8): an initiative names pilot business units (and
// optional control units), a baseline window, a start date, a sprint length and rollout waves.
// This file stores initiatives and measures them: pilot vs baseline with a significance test,
// pilot vs control, a per-sprint series, progress toward targets, and the rollout by unit.

// InitiativeKPI names a KPI an initiative is measured by.
type InitiativeKPI string

// The KPIs of initiative analytics. Rates are tested with the two-proportion z-test, the sales
// cycle (days per case) with the Mann–Whitney U test.
const (
	// KPILeadConversion is leads converted / leads created, by lead created_at (DESIGN §5.2).
	KPILeadConversion InitiativeKPI = "lead_conversion"
	// KPIWinRate is won / (won + lost), by closed_at (DESIGN §5.2).
	KPIWinRate InitiativeKPI = "win_rate"
	// KPISalesCycle is the median sales cycle in days (first won − case start), by the won time
	// (DESIGN §5.3).
	KPISalesCycle InitiativeKPI = "sales_cycle"
	// KPIAdoption is the process adoption rate, by case start (DESIGN §5.5).
	KPIAdoption InitiativeKPI = "adoption"
	// KPICompliance is the gate compliance rate, by first entry of a guarded stage (DESIGN §5.6).
	KPICompliance InitiativeKPI = "compliance"
)

// InitiativeKPIs returns the KPIs initiatives are measured by, in display order.
func InitiativeKPIs() []InitiativeKPI {
	return []InitiativeKPI{KPILeadConversion, KPIWinRate, KPISalesCycle, KPIAdoption, KPICompliance}
}

// IsRate reports whether the KPI is a proportion (tested with the z-test) rather than a duration.
func (k InitiativeKPI) IsRate() bool { return k != KPISalesCycle }

// Valid reports whether k is one of InitiativeKPIs.
func (k InitiativeKPI) Valid() bool { return slices.Contains(InitiativeKPIs(), k) }

// DefaultSprintDays is the sprint length when a definition leaves it out.
const DefaultSprintDays = 14

// Initiative sources.
const (
	SourceConfig = "config" // declared in ltc.yaml; SyncInitiatives owns it
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
	KPI   InitiativeKPI `json:"kpi"`
	Value float64       `json:"value"`
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
// ErrWaveBeforeStart). Unknown units need the data: UpsertInitiative checks those.
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
	targeted := map[InitiativeKPI]bool{}
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
	for _, k := range InitiativeKPIs() {
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
func (in Initiative) Target(k InitiativeKPI) (float64, bool) {
	for _, t := range in.Targets {
		if t.KPI == k {
			return t.Value, true
		}
	}
	return 0, false
}

// sprint returns the sprint length.
func (in Initiative) sprint() time.Duration { return time.Duration(in.SprintDays) * 24 * time.Hour }

// BusinessUnits returns the business units that occur in the data (leads, opportunities,
// employees, marketing spend), sorted; under a row scope (RowScope), those of the rows inside it
// (marketing spend, which has no region, only when regions are unrestricted).
func (e *Engine) BusinessUnits(ctx context.Context) ([]string, error) {
	r, rargs := rowScopeOf(ctx).sql("u", "r")
	rows, err := e.db.Read.QueryContext(ctx, `SELECT DISTINCT u FROM (
  SELECT business_unit AS u, region AS r FROM leads UNION ALL SELECT business_unit, region FROM opportunities
  UNION ALL SELECT business_unit, region FROM employees UNION ALL SELECT business_unit, NULL FROM marketing_spend)
WHERE u IS NOT NULL AND u <> ''`+r+` ORDER BY u`, rargs...)
	if err != nil {
		return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("kpi.BusinessUnits: %w", err)
	}
	return out, nil
}

// checkUnits reports the units of in that do not occur in known, wrapped in ErrBadInitiative and
// ErrUnknownUnit. An empty known (a warehouse without data yet, e.g. at first start) accepts all.
func checkUnits(in Initiative, known []string) error {
	if len(known) == 0 {
		return nil
	}
	var unknown []string
	units := slices.Concat(in.PilotUnits, in.ControlUnits)
	for _, w := range in.Waves {
		units = append(units, w.BusinessUnit)
	}
	for _, u := range units {
		if !slices.Contains(known, u) && !slices.Contains(unknown, u) {
			unknown = append(unknown, u)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%w %q: %w: %s (known: %s)", ErrBadInitiative, in.ID, ErrUnknownUnit,
		strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// UpsertInitiative validates a definition (Validate, plus units that must occur in the data
// unless the warehouse is still empty) and stores it, replacing any initiative with the same id.
// An empty Source means SourceAPI. It returns the stored form.
func (e *Engine) UpsertInitiative(ctx context.Context, in Initiative) (*Initiative, error) {
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	known, err := e.BusinessUnits(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkUnits(in, known); err != nil {
		return nil, err
	}
	tx, err := e.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("kpi.UpsertInitiative: %w", err)
	}
	defer tx.Rollback()
	in.UpdatedAt = e.opts.Now().UTC().Truncate(time.Microsecond)
	if err := storeInitiative(ctx, tx, in); err != nil {
		return nil, fmt.Errorf("kpi.UpsertInitiative(%q): %w", in.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("kpi.UpsertInitiative(%q): %w", in.ID, err)
	}
	return &in, nil
}

func storeInitiative(ctx context.Context, tx *sql.Tx, in Initiative) error {
	if err := deleteInitiative(ctx, tx, in.ID); err != nil {
		return err
	}
	pilot, _ := json.Marshal(in.PilotUnits)
	control, _ := json.Marshal(in.ControlUnits)
	if _, err := tx.ExecContext(ctx, `INSERT INTO initiatives (initiative_id, name, description, pilot_units,
  control_units, baseline_start, baseline_end, start_at, sprint_days, source, updated_at)
VALUES (?, ?, ?, from_json(?, '["VARCHAR"]'), from_json(?, '["VARCHAR"]'), ?, ?, ?, ?, ?, ?)`,
		in.ID, in.Name, in.Description, string(pilot), string(control), in.BaselineFrom, in.BaselineTo,
		in.Start, in.SprintDays, in.Source, in.UpdatedAt); err != nil {
		return err
	}
	for _, w := range in.Waves {
		if _, err := tx.ExecContext(ctx, "INSERT INTO initiative_waves (initiative_id, business_unit, planned_at) VALUES (?, ?, ?)",
			in.ID, w.BusinessUnit, w.PlannedAt); err != nil {
			return err
		}
	}
	for _, t := range in.Targets {
		if _, err := tx.ExecContext(ctx, "INSERT INTO initiative_targets (initiative_id, kpi, target) VALUES (?, ?, ?)",
			in.ID, string(t.KPI), t.Value); err != nil {
			return err
		}
	}
	return nil
}

func deleteInitiative(ctx context.Context, tx *sql.Tx, id string) error {
	for _, t := range []string{"initiative_waves", "initiative_targets", "initiatives"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t+" WHERE initiative_id = ?", id); err != nil {
			return err
		}
	}
	return nil
}

// DeleteInitiative removes an initiative; ErrInitiativeNotFound when there is none with that id.
func (e *Engine) DeleteInitiative(ctx context.Context, id string) error {
	tx, err := e.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("kpi.DeleteInitiative: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM initiatives WHERE initiative_id = ?", id).Scan(&n); err != nil {
		return fmt.Errorf("kpi.DeleteInitiative(%q): %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("kpi.DeleteInitiative: %w: %q (initiatives: %s)", ErrInitiativeNotFound, id, e.initiativeIDs(ctx))
	}
	if err := deleteInitiative(ctx, tx, id); err != nil {
		return fmt.Errorf("kpi.DeleteInitiative(%q): %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("kpi.DeleteInitiative(%q): %w", id, err)
	}
	return nil
}

// Initiatives returns every stored initiative, by id.
func (e *Engine) Initiatives(ctx context.Context) ([]Initiative, error) {
	out, err := e.loadInitiatives(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("kpi.Initiatives: %w", err)
	}
	return out, nil
}

// initiativeIDs lists the stored initiatives' ids for an error message ("none" when there are none).
func (e *Engine) initiativeIDs(ctx context.Context) string {
	all, err := e.loadInitiatives(ctx, "")
	if err != nil || len(all) == 0 {
		return "none"
	}
	ids := make([]string, len(all))
	for i, in := range all {
		ids[i] = in.ID
	}
	return strings.Join(ids, ", ")
}

// Initiative returns the stored initiative id; ErrInitiativeNotFound when there is none.
func (e *Engine) Initiative(ctx context.Context, id string) (*Initiative, error) {
	out, err := e.loadInitiatives(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("kpi.Initiative(%q): %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("kpi.Initiative: %w: %q (initiatives: %s)", ErrInitiativeNotFound, id, e.initiativeIDs(ctx))
	}
	return &out[0], nil
}

func (e *Engine) loadInitiatives(ctx context.Context, id string) ([]Initiative, error) {
	q := `SELECT initiative_id, name, coalesce(description, ''), CAST(to_json(pilot_units) AS VARCHAR),
  CAST(to_json(coalesce(control_units, [])) AS VARCHAR), baseline_start, baseline_end, start_at, sprint_days,
  coalesce(source, 'api'), updated_at FROM initiatives`
	var args []any
	if id != "" {
		q += " WHERE initiative_id = ?"
		args = append(args, id)
	}
	rows, err := e.db.Read.QueryContext(ctx, q+" ORDER BY initiative_id", args...)
	if err != nil {
		return nil, err
	}
	var out []Initiative
	byID := map[string]int{}
	for rows.Next() {
		var in Initiative
		var pilot, control string
		var updated sql.NullTime
		if err := rows.Scan(&in.ID, &in.Name, &in.Description, &pilot, &control, &in.BaselineFrom, &in.BaselineTo,
			&in.Start, &in.SprintDays, &in.Source, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if err := errors.Join(json.Unmarshal([]byte(pilot), &in.PilotUnits), json.Unmarshal([]byte(control), &in.ControlUnits)); err != nil {
			rows.Close()
			return nil, err
		}
		in.BaselineFrom, in.BaselineTo, in.Start = in.BaselineFrom.UTC(), in.BaselineTo.UTC(), in.Start.UTC()
		in.UpdatedAt = updated.Time.UTC()
		in.Waves, in.Targets = []Wave{}, []Target{}
		byID[in.ID] = len(out)
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	filter, fargs := "", []any{}
	if id != "" {
		filter, fargs = " WHERE initiative_id = ?", []any{id}
	}
	wr, err := e.db.Read.QueryContext(ctx, "SELECT initiative_id, business_unit, planned_at FROM initiative_waves"+filter+" ORDER BY planned_at, business_unit", fargs...)
	if err != nil {
		return nil, err
	}
	for wr.Next() {
		var iid string
		var w Wave
		if err := wr.Scan(&iid, &w.BusinessUnit, &w.PlannedAt); err != nil {
			wr.Close()
			return nil, err
		}
		w.PlannedAt = w.PlannedAt.UTC()
		if i, ok := byID[iid]; ok {
			out[i].Waves = append(out[i].Waves, w)
		}
	}
	wr.Close()
	if err := wr.Err(); err != nil {
		return nil, err
	}
	tr, err := e.db.Read.QueryContext(ctx, "SELECT initiative_id, kpi, target FROM initiative_targets"+filter+" ORDER BY kpi", fargs...)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	for tr.Next() {
		var iid, k string
		var v float64
		if err := tr.Scan(&iid, &k, &v); err != nil {
			return nil, err
		}
		if i, ok := byID[iid]; ok {
			out[i].Targets = append(out[i].Targets, Target{KPI: InitiativeKPI(k), Value: v})
		}
	}
	return out, tr.Err()
}

// SyncInitiatives makes the stored config-declared initiatives match declared (typically the
// `initiatives:` of ltc.yaml, at start): each valid one is upserted with Source = SourceConfig,
// and stored config-declared initiatives that are no longer declared are deleted. Initiatives
// created through the API are left alone, unless declared with the same id (config wins).
// Invalid definitions are skipped and reported together in the returned error (wrapping
// ErrBadInitiative); the valid ones are still stored.
func (e *Engine) SyncInitiatives(ctx context.Context, declared []Initiative) error {
	known, err := e.BusinessUnits(ctx)
	if err != nil {
		return err
	}
	var problems []error
	var valid []Initiative
	ids := map[string]bool{}
	for _, in := range declared {
		in.Source = SourceConfig
		in = in.normalized()
		if ids[in.ID] {
			problems = append(problems, fmt.Errorf("%w %q: declared twice", ErrBadInitiative, in.ID))
			continue
		}
		ids[in.ID] = true
		if err := errors.Join(in.Validate(), checkUnits(in, known)); err != nil {
			problems = append(problems, err)
			continue
		}
		valid = append(valid, in)
	}
	tx, err := e.db.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("kpi.SyncInitiatives: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, "SELECT initiative_id FROM initiatives WHERE source = ?", SourceConfig)
	if err != nil {
		return fmt.Errorf("kpi.SyncInitiatives: %w", err)
	}
	var stale []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("kpi.SyncInitiatives: %w", err)
		}
		if !ids[id] {
			stale = append(stale, id)
		}
	}
	rows.Close()
	for _, id := range stale {
		if err := deleteInitiative(ctx, tx, id); err != nil {
			return fmt.Errorf("kpi.SyncInitiatives: delete %q: %w", id, err)
		}
	}
	now := e.opts.Now().UTC().Truncate(time.Microsecond)
	for _, in := range valid {
		in.UpdatedAt = now
		if err := storeInitiative(ctx, tx, in); err != nil {
			return fmt.Errorf("kpi.SyncInitiatives: %q: %w", in.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("kpi.SyncInitiatives: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("kpi.SyncInitiatives: %w", errors.Join(problems...))
	}
	return nil
}

// Sample is a KPI measured over some business units in a window [From, To).
type Sample struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	Units []string  `json:"units"`
	// Value is the rate (Successes / N) or the median sales cycle in days; 0 when undefined.
	Value float64 `json:"value"`
	// N counts what the value is over: leads, closed deals, cases or signed contracts.
	N int64 `json:"n"`
	// Successes is the numerator of a rate (0 for durations).
	Successes int64 `json:"successes"`
	// Defined is false when N is 0.
	Defined bool `json:"defined"`

	durations []float64 // per-case days (sales cycle)
}

// SprintPoint is one sprint of an initiative, with the pilot units' value against the baseline.
type SprintPoint struct {
	// Sprint is 1-based; the sprint covers [From, To), To capped at the report's AsOf.
	Sprint int       `json:"sprint"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Complete is false for the running sprint.
	Complete bool   `json:"complete"`
	Pilot    Sample `json:"pilot"`
	// Baseline is the reference line: the pilot units' value over the baseline window.
	Baseline float64 `json:"baseline"`
	// Change is Pilot − Baseline (nil when a side is undefined).
	Change *float64 `json:"change"`
	// Significance tests the sprint against the baseline.
	Significance Significance `json:"significance"`
	// Control is the control units' value in the sprint (nil without controls).
	Control *Sample `json:"control,omitempty"`
}

// TargetProgress is how far a KPI has moved from the baseline toward its target:
// (value − baseline) / (target − baseline); 1 means reached, negative means moving away.
type TargetProgress struct {
	Target float64 `json:"target"`
	// Progress uses the pilot value over the whole pilot window; LatestProgress the last complete
	// sprint. Nil when undefined (no data, or target equal to the baseline).
	Progress       *float64 `json:"progress"`
	LatestProgress *float64 `json:"latestProgress"`
	// Reached reports whether the last complete sprint meets the target in the KPI's good
	// direction (Meets).
	Reached bool `json:"reached"`
	// WrongSide says the target lies on the wrong side of the baseline for the KPI's direction
	// (e.g. a sales-cycle target above the baseline): progress is then undefined, and Problem says
	// why.
	WrongSide bool   `json:"wrongSide"`
	Problem   string `json:"problem,omitempty"`
}

// Meets reports whether value meets target for a KPI whose better direction is d: at or above
// it when higher is better, at or below it when lower is better. The one rule behind "reached"
// and "behind plan".
func Meets(d Direction, value, target float64) bool {
	if d == LowerIsBetter {
		return value <= target
	}
	return value >= target
}

// Direction returns the catalog direction of an initiative KPI.
func (k InitiativeKPI) Direction() Direction {
	c, _ := LookupKPI(string(k))
	return c.Direction
}

// PilotReport compares an initiative's pilot with its baseline (and controls) on one KPI.
type PilotReport struct {
	InitiativeID string        `json:"initiativeId"`
	KPI          InitiativeKPI `json:"kpi"`
	// Statistic says what Value means: "rate" or "median_days".
	Statistic string `json:"statistic"`
	// AsOf is the end of the pilot window (the engine's Now).
	AsOf time.Time `json:"asOf"`
	// Baseline is the pilot units over the baseline window, Pilot the same units over [Start, AsOf).
	Baseline Sample `json:"baseline"`
	Pilot    Sample `json:"pilot"`
	// Change is Pilot − Baseline, RelChange Change / |Baseline| (nil when undefined).
	Change    *float64 `json:"change"`
	RelChange *float64 `json:"relChange"`
	// Significance tests pilot vs baseline (z-test for rates, Mann–Whitney U for the sales cycle).
	Significance Significance `json:"significance"`
	// Control is the control units over [Start, AsOf); VsControl tests pilot vs control in that
	// window; ControlChange is Pilot − Control. Nil without control units.
	Control       *Sample       `json:"control,omitempty"`
	ControlChange *float64      `json:"controlChange,omitempty"`
	VsControl     *Significance `json:"vsControl,omitempty"`
	// Sprints is the per-sprint series from Start to AsOf.
	Sprints []SprintPoint `json:"sprints"`
	// Target is progress toward the initiative's target on this KPI (nil without a target).
	Target *TargetProgress `json:"target,omitempty"`
}

// PilotVsBaseline measures initiative in on one KPI: the pilot units' baseline (over the baseline
// window) against their pilot value (over [Start, AsOf), AsOf = the engine's Now), with absolute
// and relative change, n per side and a two-sided p-value; the same against the control units
// over the pilot window when there are controls; the per-sprint series; and progress toward the
// target. Rates come from the engine's own KPI queries (LeadConversion, WinRate, Adoption,
// Compliance) over scopes filtered by business unit, so the numbers match the dashboards; the
// sales cycle uses per-case durations (first won − case start, cases placed in time by the win,
// as CycleTimes). The definition is validated but not looked up, so a
// draft can be previewed before it is stored.
func (e *Engine) PilotVsBaseline(ctx context.Context, in Initiative, k InitiativeKPI) (*PilotReport, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if !k.Valid() {
		return nil, fmt.Errorf("%w: unknown KPI %q (want one of %s)", ErrBadScope, k, kpiList())
	}
	r, err := e.pilotVsBaseline(ctx, in, k)
	if err != nil {
		return nil, fmt.Errorf("kpi.PilotVsBaseline(%q, %s): %w", in.ID, k, err)
	}
	return r, nil
}

// PilotReports returns PilotVsBaseline for every KPI of InitiativeKPIs, in that order.
func (e *Engine) PilotReports(ctx context.Context, in Initiative) ([]*PilotReport, error) {
	ks := InitiativeKPIs()
	out := make([]*PilotReport, len(ks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for i, k := range ks {
		g.Go(func() error {
			r, err := e.PilotVsBaseline(gctx, in, k)
			out[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// window is a half-open time range over some units.
type window struct {
	from, to time.Time
	units    []string
}

func (e *Engine) pilotVsBaseline(ctx context.Context, in Initiative, k InitiativeKPI) (*PilotReport, error) {
	asOf := e.opts.Now().UTC()
	r := &PilotReport{InitiativeID: in.ID, KPI: k, AsOf: asOf, Statistic: "rate", Sprints: []SprintPoint{}}
	if !k.IsRate() {
		r.Statistic = "median_days"
	}
	pilotTo := asOf
	if pilotTo.Before(in.Start) {
		pilotTo = in.Start
	}
	// The windows to measure: baseline, pilot, control, then per sprint pilot (and control).
	ws := []window{{in.BaselineFrom, in.BaselineTo, in.PilotUnits}, {in.Start, pilotTo, in.PilotUnits}}
	hasControl := len(in.ControlUnits) > 0
	if hasControl {
		ws = append(ws, window{in.Start, pilotTo, in.ControlUnits})
	}
	sprints := sprintWindows(in, asOf)
	if len(sprints) > maxSprints {
		return nil, fmt.Errorf("%w: more than %d sprints", ErrBadScope, maxSprints)
	}
	fixed := len(ws)
	for _, s := range sprints {
		ws = append(ws, window{s[0], s[1], in.PilotUnits})
		if hasControl {
			ws = append(ws, window{s[0], s[1], in.ControlUnits})
		}
	}
	samples, err := e.measure(ctx, in, k, ws)
	if err != nil {
		return nil, err
	}
	r.Baseline, r.Pilot = samples[0], samples[1]
	r.Change, r.RelChange = changes(r.Baseline, r.Pilot)
	r.Significance = compare(k, r.Pilot, r.Baseline)
	if hasControl {
		c := samples[2]
		r.Control = &c
		r.ControlChange, _ = changes(c, r.Pilot)
		s := compare(k, r.Pilot, c)
		r.VsControl = &s
	}
	step := 1
	if hasControl {
		step = 2
	}
	for i, s := range sprints {
		p := samples[fixed+i*step]
		pt := SprintPoint{Sprint: i + 1, From: s[0], To: s[1], Complete: !s[1].After(asOf) && s[1].Sub(s[0]) == in.sprint(),
			Pilot: p, Baseline: r.Baseline.Value, Significance: compare(k, p, r.Baseline)}
		pt.Change, _ = changes(r.Baseline, p)
		if hasControl {
			c := samples[fixed+i*step+1]
			pt.Control = &c
		}
		r.Sprints = append(r.Sprints, pt)
	}
	if t, ok := in.Target(k); ok {
		d := k.Direction()
		tp := &TargetProgress{Target: t}
		if r.Baseline.Defined && t != r.Baseline.Value && Meets(d, r.Baseline.Value, t) {
			// A target the baseline already beats: moving the wrong way would read as progress.
			tp.WrongSide = true
			tp.Problem = fmt.Sprintf("the target %.4g is on the wrong side of the baseline %.4g: %s is better when %s", t, r.Baseline.Value, k, d)
		} else {
			tp.Progress = progress(r.Baseline, r.Pilot, t)
		}
		for i := len(r.Sprints) - 1; i >= 0; i-- {
			if s := r.Sprints[i]; s.Complete && s.Pilot.Defined {
				if !tp.WrongSide {
					tp.LatestProgress = progress(r.Baseline, s.Pilot, t)
				}
				tp.Reached = !tp.WrongSide && Meets(d, s.Pilot.Value, t)
				break
			}
		}
		r.Target = tp
	}
	return r, nil
}

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

// measure returns the KPI over each window, concurrently (rates through the engine's cached KPI
// queries; the sales cycle from one query of per-case durations split in Go).
func (e *Engine) measure(ctx context.Context, in Initiative, k InitiativeKPI, ws []window) ([]Sample, error) {
	out := make([]Sample, len(ws))
	if k == KPISalesCycle {
		from, to := ws[0].from, ws[0].to
		for _, w := range ws {
			if w.from.Before(from) {
				from = w.from
			}
			if w.to.After(to) {
				to = w.to
			}
		}
		units := slices.Concat(in.PilotUnits, in.ControlUnits)
		cases, err := e.salesCycles(ctx, units, from, to)
		if err != nil {
			return nil, err
		}
		for i, w := range ws {
			s := Sample{From: w.from, To: w.to, Units: w.units}
			for _, c := range cases {
				if !c.at.Before(w.from) && c.at.Before(w.to) && slices.Contains(w.units, c.unit) {
					s.durations = append(s.durations, c.days)
				}
			}
			s.N = int64(len(s.durations))
			s.Defined = s.N > 0
			s.Value = finite(median(slices.Clone(s.durations)))
			out[i] = s
		}
		return out, nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, w := range ws {
		g.Go(func() error {
			s, err := e.rate(gctx, k, w)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// rate measures a rate KPI over one window through the engine's KPI queries.
func (e *Engine) rate(ctx context.Context, k InitiativeKPI, w window) (Sample, error) {
	s := Sample{From: w.from, To: w.to, Units: w.units}
	if !w.from.Before(w.to) {
		return s, nil
	}
	scope := Scope{From: w.from, To: w.to, Filters: map[string][]string{"business_unit": w.units}}
	var v Value
	switch k {
	case KPILeadConversion:
		bd, err := e.LeadConversion(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total
	case KPIWinRate:
		bd, err := e.WinRate(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total
	case KPIAdoption:
		bd, err := e.Adoption(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total.Rate
	case KPICompliance:
		bd, err := e.Compliance(ctx, scope)
		if err != nil {
			return s, err
		}
		v = bd.Total.Rate
	default:
		return s, fmt.Errorf("%w: %s is not a rate", ErrBadScope, k)
	}
	s.N = v.N
	s.Defined = v.N > 0
	if s.Defined {
		s.Successes = int64(math.Round(v.Value * float64(v.N)))
		s.Value = float64(s.Successes) / float64(s.N)
	}
	return s, nil
}

// cycleCase is one case's sales cycle.
type cycleCase struct {
	unit string
	at   time.Time // first won
	days float64
}

// salesCycles returns the sales cycle of every case of units whose first won event lies in
// [from, to): first won − case start (first event of any tier), in days; cases whose win precedes
// their start are left out, as in CycleTimes.
func (e *Engine) salesCycles(ctx context.Context, units []string, from, to time.Time) ([]cycleCase, error) {
	if err := e.CycleConfigured(CycleSales); err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%s|%s|%q", timeKey(from), timeKey(to), units)
	return cached(ctx, e, "initiativeSalesCycles", key, func(ctx context.Context) ([]cycleCase, error) {
		// The same facts as CycleTimes' sales cycle: kpi_case.won_at − started_at.
		b := &sqlBuilder{}
		b.add(`SELECT c.business_unit, c.won_at, (epoch_us(c.won_at) - epoch_us(c.started_at)) / 86400e6
FROM kpi_case c
WHERE c.won_at >= CAST(? AS TIMESTAMP) AND c.won_at < CAST(? AS TIMESTAMP) AND c.started_at <= c.won_at
  AND c.business_unit IN (`+placeholders(len(units))+`)`, ts(from), ts(to))
		for _, u := range units {
			b.args = append(b.args, u)
		}
		r, rargs := rowSQL(ctx)
		b.add(r, rargs...)
		rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []cycleCase
		for rows.Next() {
			var c cycleCase
			if err := rows.Scan(&c.unit, &c.at, &c.days); err != nil {
				return nil, err
			}
			c.at = c.at.UTC()
			out = append(out, c)
		}
		return out, rows.Err()
	})
}

// compare tests sample a against b with the KPI's test.
func compare(k InitiativeKPI, a, b Sample) Significance {
	if k.IsRate() {
		return TwoProportionZ(a.Successes, a.N, b.Successes, b.N)
	}
	return MannWhitneyU(a.durations, b.durations)
}

// changes returns cur − base and (cur − base) / |base|, nil when undefined.
func changes(base, cur Sample) (abs, rel *float64) {
	if !base.Defined || !cur.Defined {
		return nil, nil
	}
	c := finite(cur.Value - base.Value)
	abs = &c
	if base.Value != 0 {
		r := finite(c / math.Abs(base.Value))
		rel = &r
	}
	return abs, rel
}

// progress is (cur − base) / (target − base), nil when undefined.
func progress(base, cur Sample, target float64) *float64 {
	if !base.Defined || !cur.Defined || target == base.Value {
		return nil
	}
	p := finite((cur.Value - base.Value) / (target - base.Value))
	return &p
}

// Rollout roles of a business unit.
const (
	RolePilot   = "pilot"
	RoleWave    = "wave"
	RoleControl = "control"
	RoleNone    = "none"
)

// Rollout statuses of a business unit.
const (
	// StatusPlanned: the unit's date is in the future.
	StatusPlanned = "planned"
	// StatusRampUp: the date has passed but less than one sprint ago (not yet judged).
	StatusRampUp = "ramp_up"
	// StatusOnTrack: adoption since the date is at or above the bar.
	StatusOnTrack = "on_track"
	// StatusBehind: the date passed at least one sprint ago and adoption since is below the bar.
	StatusBehind = "behind"
	// StatusNotPlanned: a control unit or a unit without a wave.
	StatusNotPlanned = "not_planned"
)

// RolloutUnit is one business unit's adoption and compliance before and after its date.
type RolloutUnit struct {
	BusinessUnit string `json:"businessUnit"`
	Role         string `json:"role"`
	// Date is the unit's start: Start for pilot units, the planned wave date for wave units, Start
	// (for comparison) for the others.
	Date   time.Time `json:"date"`
	Status string    `json:"status"`
	// Before is [Date − d, Date), After is [Date, AsOf) with d = AsOf − Date (equal lengths). For a
	// date still in the future, Before is the baseline-length window up to AsOf and After is empty.
	AdoptionBefore   Sample       `json:"adoptionBefore"`
	AdoptionAfter    Sample       `json:"adoptionAfter"`
	AdoptionChange   *float64     `json:"adoptionChange"`
	AdoptionTest     Significance `json:"adoptionTest"`
	ComplianceBefore Sample       `json:"complianceBefore"`
	ComplianceAfter  Sample       `json:"complianceAfter"`
	ComplianceChange *float64     `json:"complianceChange"`
	// Behind is Status == StatusBehind; Gap is Bar − adoption after (positive when behind).
	Behind bool     `json:"behind"`
	Gap    *float64 `json:"gap"`
}

// Rollout is the rollout of an initiative across business units (DESIGN §1 stage 4).
type Rollout struct {
	InitiativeID string    `json:"initiativeId"`
	AsOf         time.Time `json:"asOf"`
	// Bar is the adoption rate a unit must reach after its date: the initiative's adoption target
	// when it has one (BarSource "target"), else the pilot units' adoption over the pilot window
	// (BarSource "pilot"). Undefined (BarSource "") when neither exists yet.
	Bar       float64 `json:"bar"`
	BarSource string  `json:"barSource"`
	// Units lists every business unit of the data and of the initiative: pilot units first, then
	// waves by date, then controls, then the rest, each group by name.
	Units []RolloutUnit `json:"units"`
}

// Rollout measures adoption and compliance per business unit before and after its date (pilot
// units: the start; wave units: the planned date) — under a row scope, of the units it can see —
// and flags the units behind plan: a pilot or wave
// unit whose date passed at least one sprint ago (a sprint of grace to ramp up) and whose adoption
// rate since the date is below the bar (the adoption target if set, else the pilot units'
// adoption over the pilot window).
func (e *Engine) Rollout(ctx context.Context, in Initiative) (*Rollout, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in = in.normalized()
	if err := in.Validate(); err != nil {
		return nil, err
	}
	r, err := e.rollout(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("kpi.Rollout(%q): %w", in.ID, err)
	}
	return r, nil
}

func (e *Engine) rollout(ctx context.Context, in Initiative) (*Rollout, error) {
	asOf := e.opts.Now().UTC()
	out := &Rollout{InitiativeID: in.ID, AsOf: asOf}
	known, err := e.BusinessUnits(ctx)
	if err != nil {
		return nil, err
	}
	type unit struct {
		name, role string
		date       time.Time
	}
	var units []unit
	seen := map[string]bool{}
	// Under a row scope only the units it can see are listed: its business units, and the units of
	// the rows inside it (known). Others would read as BEHIND, measured over nothing.
	rs := rowScopeOf(ctx)
	visible := func(n string) bool {
		return rs.Unrestricted() || slices.Contains(rs.BusinessUnits, n) || slices.Contains(known, n)
	}
	addAll := func(names []string, role string, date time.Time) {
		sorted := slices.Clone(names)
		sort.Strings(sorted)
		for _, n := range sorted {
			if !seen[n] && visible(n) {
				seen[n] = true
				units = append(units, unit{n, role, date})
			}
		}
	}
	addAll(in.PilotUnits, RolePilot, in.Start)
	for _, w := range in.Waves {
		addAll([]string{w.BusinessUnit}, RoleWave, w.PlannedAt)
	}
	addAll(in.ControlUnits, RoleControl, in.Start)
	addAll(known, RoleNone, in.Start)

	// The bar.
	if t, ok := in.Target(KPIAdoption); ok {
		out.Bar, out.BarSource = t, "target"
	} else if asOf.After(in.Start) {
		p, err := e.rate(ctx, KPIAdoption, window{in.Start, asOf, in.PilotUnits})
		if err != nil {
			return nil, err
		}
		if p.Defined {
			out.Bar, out.BarSource = p.Value, "pilot"
		}
	}
	baseLen := in.BaselineTo.Sub(in.BaselineFrom)
	out.Units = make([]RolloutUnit, len(units))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, u := range units {
		g.Go(func() error {
			ru := RolloutUnit{BusinessUnit: u.name, Role: u.role, Date: u.date}
			var before, after window
			if u.date.Before(asOf) {
				d := asOf.Sub(u.date)
				before = window{u.date.Add(-d), u.date, []string{u.name}}
				after = window{u.date, asOf, []string{u.name}}
			} else {
				before = window{asOf.Add(-baseLen), asOf, []string{u.name}}
				after = window{asOf, asOf, []string{u.name}}
			}
			var err error
			if ru.AdoptionBefore, err = e.rate(gctx, KPIAdoption, before); err != nil {
				return err
			}
			if ru.AdoptionAfter, err = e.rate(gctx, KPIAdoption, after); err != nil {
				return err
			}
			if ru.ComplianceBefore, err = e.rate(gctx, KPICompliance, before); err != nil {
				return err
			}
			if ru.ComplianceAfter, err = e.rate(gctx, KPICompliance, after); err != nil {
				return err
			}
			ru.AdoptionChange, _ = changes(ru.AdoptionBefore, ru.AdoptionAfter)
			ru.ComplianceChange, _ = changes(ru.ComplianceBefore, ru.ComplianceAfter)
			ru.AdoptionTest = compare(KPIAdoption, ru.AdoptionAfter, ru.AdoptionBefore)
			switch {
			case u.role != RolePilot && u.role != RoleWave:
				ru.Status = StatusNotPlanned
			case !u.date.Before(asOf):
				ru.Status = StatusPlanned
			case asOf.Sub(u.date) < in.sprint():
				ru.Status = StatusRampUp
			case out.BarSource != "" && (!ru.AdoptionAfter.Defined || !Meets(KPIAdoption.Direction(), ru.AdoptionAfter.Value, out.Bar)):
				ru.Status, ru.Behind = StatusBehind, true
			default:
				ru.Status = StatusOnTrack
			}
			if out.BarSource != "" && ru.AdoptionAfter.Defined && u.role != RoleNone && u.role != RoleControl {
				gap := finite(out.Bar - ru.AdoptionAfter.Value)
				ru.Gap = &gap
			}
			out.Units[i] = ru
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
