package kpi

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// Grain is the bucket size of a time series.
type Grain string

// The grains a scope may ask for; "" means no series.
const (
	GrainNone    Grain = ""
	GrainDay     Grain = "DAY"
	GrainWeek    Grain = "WEEK" // ISO weeks, starting Monday 00:00 UTC
	GrainMonth   Grain = "MONTH"
	GrainQuarter Grain = "QUARTER"
	GrainYear    Grain = "YEAR"
	GrainSprint  Grain = "SPRINT" // Options.SprintDays-long buckets from Options.SprintAnchor
)

// grainTrunc is the whitelist of calendar grains: grain → DuckDB date_trunc part.
var grainTrunc = map[Grain]string{
	GrainDay: "day", GrainWeek: "week", GrainMonth: "month", GrainQuarter: "quarter", GrainYear: "year",
}

// builtinColumns is the whitelist of the built-in dimensions: name → column of the derived tables
// (alias c), one per schema.Dimensions.
var builtinColumns = func() map[string]string {
	m := make(map[string]string, len(schema.Dimensions))
	for _, d := range schema.Dimensions {
		m[d] = "c." + d
	}
	return m
}()

// dimensionColumns returns the whitelist of an engine's dimensions: the built-ins' columns, and for
// each valid custom dimension the value of its attribute in the derived tables' attributes map,
// the key a quoted literal of a checked lower_snake name (schema.IsAttributeName), never input.
// Invalid or clashing custom dimensions are left out (Engine.Check reports them).
func dimensionColumns(custom []schema.Dimension) map[string]string {
	m := maps.Clone(builtinColumns)
	for _, d := range custom {
		if _, clash := m[d.Name]; clash || !schema.IsAttributeName(d.Name) || !schema.IsAttributeName(d.Attribute) {
			continue
		}
		m[d.Name] = "c." + schema.AttributesField + "['" + d.Attribute + "']"
	}
	return m
}

// maxBuckets bounds the length of a time series.
const maxBuckets = 5000

// Scope selects what a KPI is computed over: a half-open time range [From, To) applied to the
// timestamp each KPI names, filters on case attributes, an optional breakdown by dimensions and an
// optional time series. Every KPI also reports the previous period [From-(To-From), From).
type Scope struct {
	From, To time.Time
	// Filters maps a dimension (schema.Dimensions or one of the engine's custom dimensions) to its
	// allowed values; an empty list filters nothing.
	Filters map[string][]string
	// GroupBy lists dimensions to break the result down by, in order.
	GroupBy []string
	// Grain asks for a time series with buckets of this size.
	Grain Grain
}

// Validate reports whether the scope can be run with the built-in dimensions; errors wrap
// ErrBadScope. An engine also accepts its custom dimensions (Engine.Dimensions).
func (s Scope) Validate() error { return s.validate(builtinColumns, schema.Dimensions) }

// validate reports whether the scope can be run over the dimensions of cols; errors wrap
// ErrBadScope and list the valid names.
func (s Scope) validate(cols map[string]string, names []string) error {
	switch {
	case s.From.IsZero() || s.To.IsZero():
		return fmt.Errorf("%w: from and to are required", ErrBadScope)
	case !s.From.Before(s.To):
		return fmt.Errorf("%w: from (%s) must be before to (%s)", ErrBadScope, s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	case s.From.Year() < 1 || s.To.Year() > 9999:
		return fmt.Errorf("%w: time out of range", ErrBadScope)
	}
	for dim := range s.Filters {
		if _, ok := cols[dim]; !ok {
			return fmt.Errorf("%w: unknown dimension %q in filters (want one of %s)", ErrBadScope, dim, strings.Join(names, ", "))
		}
	}
	seen := map[string]bool{}
	for _, dim := range s.GroupBy {
		if _, ok := cols[dim]; !ok {
			return fmt.Errorf("%w: unknown dimension %q in groupBy (want one of %s)", ErrBadScope, dim, strings.Join(names, ", "))
		}
		if seen[dim] {
			return fmt.Errorf("%w: dimension %q twice in groupBy", ErrBadScope, dim)
		}
		seen[dim] = true
	}
	if _, ok := grainTrunc[s.Grain]; !ok && s.Grain != GrainNone && s.Grain != GrainSprint {
		return fmt.Errorf("%w: unknown grain %q", ErrBadScope, s.Grain)
	}
	return nil
}

// previous returns the start of the previous period of equal length.
func (s Scope) previous() time.Time { return s.From.Add(-s.To.Sub(s.From)) }

// key is the canonical form of the scope for cache keys.
func (s Scope) key() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|", timeKey(s.From), timeKey(s.To), s.Grain, strings.Join(s.GroupBy, ","))
	dims := make([]string, 0, len(s.Filters))
	for d := range s.Filters {
		dims = append(dims, d)
	}
	sort.Strings(dims)
	for _, d := range dims {
		vs := slices.Clone(s.Filters[d])
		sort.Strings(vs)
		vs = slices.Compact(vs)
		fmt.Fprintf(&b, "%s=%q;", d, vs)
	}
	return b.String()
}

// buckets returns the start of every series bucket that overlaps [from, to).
func (e *Engine) buckets(g Grain, from, to time.Time) ([]time.Time, error) {
	var out []time.Time
	for t := e.truncate(g, from); t.Before(to); t = e.nextBucket(g, t) {
		out = append(out, t)
		if len(out) > maxBuckets {
			return nil, fmt.Errorf("%w: more than %d %s buckets", ErrBadScope, maxBuckets, g)
		}
	}
	return out, nil
}

// truncate returns the start of the bucket containing t, as DuckDB's date_trunc / time_bucket do.
func (e *Engine) truncate(g Grain, t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch g {
	case GrainDay:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case GrainWeek:
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case GrainMonth:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	case GrainQuarter:
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC)
	case GrainYear:
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case GrainSprint:
		step := e.sprint()
		k := t.Sub(e.anchor()) / step
		if t.Before(e.anchor()) && t.Sub(e.anchor())%step != 0 {
			k--
		}
		return e.anchor().Add(k * step)
	}
	return t
}

// nextBucket returns the start of the bucket after the one starting at t.
func (e *Engine) nextBucket(g Grain, t time.Time) time.Time {
	switch g {
	case GrainDay:
		return t.AddDate(0, 0, 1)
	case GrainWeek:
		return t.AddDate(0, 0, 7)
	case GrainMonth:
		return t.AddDate(0, 1, 0)
	case GrainQuarter:
		return t.AddDate(0, 3, 0)
	case GrainYear:
		return t.AddDate(1, 0, 0)
	case GrainSprint:
		return t.Add(e.sprint())
	}
	return t
}

// prevBucket returns the start of the bucket before the one starting at t.
func (e *Engine) prevBucket(g Grain, t time.Time) time.Time {
	switch g {
	case GrainDay:
		return t.AddDate(0, 0, -1)
	case GrainWeek:
		return t.AddDate(0, 0, -7)
	case GrainMonth:
		return t.AddDate(0, -1, 0)
	case GrainQuarter:
		return t.AddDate(0, -3, 0)
	case GrainYear:
		return t.AddDate(-1, 0, 0)
	case GrainSprint:
		return t.Add(-e.sprint())
	}
	return t
}

func (e *Engine) sprint() time.Duration { return time.Duration(e.opts.SprintDays) * 24 * time.Hour }
func (e *Engine) anchor() time.Time     { return e.opts.SprintAnchor.UTC() }
