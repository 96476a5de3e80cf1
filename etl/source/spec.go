// Package source describes where ETL data comes from: file sources (CSV, JSON Lines, Parquet, XES
// event logs) and database sources (PostgreSQL), their column mapping onto the canonical tables,
// value maps, timestamp formats and lookups.
package source

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"

	"github.com/ltc-analytics/ltc/schema"
)

// Spec declares one source: which files, in which format, land in which canonical table, how.
type Spec struct {
	// Name identifies the job (unique in the config).
	Name string `yaml:"name"`
	// Kind is the source kind: file (csv, jsonl, parquet, xes) or database (postgres); the
	// config fills it in from the format.
	Kind string `yaml:"kind"`
	// Format is csv, jsonl, parquet, xes (files) or postgres (a database).
	Format string `yaml:"format"`
	// Glob selects the files, relative to the config file's folder unless absolute.
	Glob string `yaml:"glob"`
	// Postgres holds the options of a PostgreSQL source (format: postgres).
	Postgres `yaml:",inline"`
	// XES holds XES event log options.
	XES XESOptions `yaml:"xes"`
	// Target is the canonical table the rows land in (see schema.Targets).
	Target string `yaml:"target"`
	// Schedule says when the job runs.
	Schedule Schedule `yaml:"schedule"`
	// CSV holds CSV reader options.
	CSV CSVOptions `yaml:"csv"`
	// Timezone is the zone of naive timestamps (default UTC); a column may override it.
	Timezone string `yaml:"timezone"`
	// TimestampFormat is the strptime format of timestamps (default: ISO 8601); a column may override it.
	TimestampFormat string `yaml:"timestamp_format"`
	// OnMissing says what happens to the rows of a loaded file that is deleted, truncated to 0
	// bytes or left with no record (a header only): keep (default) leaves them and the manifest
	// records the file as gone or empty; retract removes them. The same for every format.
	OnMissing string `yaml:"on_missing"`
	// Columns maps canonical field → how to get it. Fields not listed are read from a source
	// column of the same name when the file has one. A key attributes.<name> (leads and
	// opportunities) maps a source column into the row's attributes map under <name>, which custom
	// dimensions read; it needs from, const or lookup.
	Columns map[string]Column `yaml:"columns"`
}

// Schedule is either an interval (every: 10m) or a cron expression (cron: "*/5 * * * *").
type Schedule struct {
	Every string `yaml:"every"`
	Cron  string `yaml:"cron"`
}

// CSVOptions are passed to DuckDB's CSV reader.
type CSVOptions struct {
	Delimiter string `yaml:"delimiter"`
	Quote     string `yaml:"quote"`
	// NoHeader says the file has no header row (columns are then column0, column1, …).
	NoHeader bool `yaml:"no_header"`
}

// XESOptions are the options of an XES event log source (format: xes).
type XESOptions struct {
	// Lifecycle keeps only events whose lifecycle:transition is one of these (e.g. [complete]);
	// events without the attribute are kept. Empty keeps every event.
	Lifecycle []string `yaml:"lifecycle"`
}

// Column maps one canonical field. Exactly one of From, Const or Lookup gives the value.
type Column struct {
	// From is the source column.
	From string `yaml:"from"`
	// Const is a constant value.
	Const *string `yaml:"const"`
	// Lookup takes the value from another file by key.
	Lookup *Lookup `yaml:"lookup"`
	// Map translates source values (e.g. Won → won); values not in the map pass unchanged. A value
	// mapped to "" or null is NULL (then Default applies), like an empty source value.
	Map map[string]string `yaml:"map"`
	// Default replaces an empty or missing value.
	Default *string `yaml:"default"`
	// Format is the strptime format for a timestamp field (overrides the source's).
	Format string `yaml:"format"`
	// Timezone is the zone of a naive timestamp field (overrides the source's).
	Timezone string `yaml:"timezone"`
}

// Lookup reads a value from another CSV file: the row whose Key column equals this row's From column.
type Lookup struct {
	File  string `yaml:"file"`
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
	From  string `yaml:"from"`
}

// AttributePrefix begins a Columns key that maps a source column into the attributes map.
const AttributePrefix = schema.AttributesField + "."

// Attributes returns the attribute names the spec maps (Columns keys attributes.<name>), sorted.
func (s *Spec) Attributes() []string {
	var out []string
	for field := range s.Columns {
		if attr, ok := strings.CutPrefix(field, AttributePrefix); ok {
			out = append(out, attr)
		}
	}
	sort.Strings(out)
	return out
}

// OnMissing values.
const (
	Keep    = "keep"
	Retract = "retract"
)

// Source kinds.
const (
	KindFile     = "file"
	KindDatabase = "database"
)

// Formats are the file formats a file source reads.
var Formats = []string{"csv", "jsonl", "parquet", FormatXES}

// Format names of the sources that are not read by DuckDB's file readers.
const (
	FormatXES      = "xes"
	FormatPostgres = "postgres"
)

// KindOf returns the kind of source a format belongs to.
func KindOf(format string) string {
	if format == FormatPostgres {
		return KindDatabase
	}
	return KindFile
}

// Validate checks the spec against the canonical targets (field names per table) and returns every problem.
func (s *Spec) Validate(targets map[string][]string) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("source %q: %s", s.Name, fmt.Sprintf(format, args...)))
	}
	if s.Name == "" {
		bad("name is required")
	}
	if s.Kind != "" && s.Kind != KindOf(s.Format) {
		bad("kind %q does not fit format %q (want %s)", s.Kind, s.Format, KindOf(s.Format))
	}
	switch {
	case s.Format == FormatPostgres:
		errs = append(errs, s.Postgres.validate(s.Name, s.Glob)...)
	case !oneOf(s.Format, Formats):
		bad("format %q: want one of %s, %s", s.Format, strings.Join(Formats, ", "), FormatPostgres)
	case s.Glob == "":
		bad("glob is required")
	default:
		if _, err := filepath.Match(s.Glob, ""); err != nil {
			bad("glob %q: %v", s.Glob, err)
		}
		if s.Postgres != (Postgres{}) {
			bad("dsn, table, query, cursor, batch_size, statement_timeout and full_compare_every are options of format: postgres")
		}
	}
	if len(s.XES.Lifecycle) > 0 && s.Format != FormatXES {
		bad("xes.lifecycle is an option of format: xes")
	}
	if s.OnMissing != "" && s.OnMissing != Keep && s.OnMissing != Retract {
		bad("on_missing %q: want keep or retract", s.OnMissing)
	}
	fields, ok := targets[s.Target]
	if !ok {
		bad("target %q is not a canonical table", s.Target)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			bad("timezone %q: %v", s.Timezone, err)
		}
	}
	if err := checkFormat(s.TimestampFormat); err != nil {
		bad("timestamp_format: %v", err)
	}
	if _, err := s.Schedule.Definition(); err != nil {
		bad("schedule: %v", err)
	}
	for field, c := range s.Columns {
		if attr, isAttr := strings.CutPrefix(field, AttributePrefix); isAttr {
			switch {
			case ok && !oneOf(schema.AttributesField, fields):
				bad("columns: %q: %s keeps no attributes (only leads and opportunities do)", field, s.Target)
			case !schema.IsAttributeName(attr):
				bad("columns: %q: want attributes.<name> with a lower_snake name such as attributes.lead_origin", field)
			case c.From == "" && c.Const == nil && c.Lookup == nil:
				bad("columns.%s: give from, const or lookup", field)
			}
		} else if ok && !oneOf(field, fields) {
			bad("columns: %q is not a field of %s (fields: %s)", field, s.Target, strings.Join(fields, ", "))
		}
		n := 0
		if c.From != "" {
			n++
		}
		if c.Const != nil {
			n++
		}
		if c.Lookup != nil {
			n++
			if c.Lookup.File == "" || c.Lookup.Key == "" || c.Lookup.Value == "" || c.Lookup.From == "" {
				bad("columns.%s.lookup needs file, key, value and from", field)
			}
		}
		if n > 1 {
			bad("columns.%s: give only one of from, const, lookup", field)
		}
		if err := checkFormat(c.Format); err != nil {
			bad("columns.%s.format: %v", field, err)
		}
		if c.Timezone != "" {
			if _, err := time.LoadLocation(c.Timezone); err != nil {
				bad("columns.%s.timezone %q: %v", field, c.Timezone, err)
			}
		}
	}
	return errs
}

// Definition returns the gocron job definition of the schedule (nil, nil when there is none).
func (s Schedule) Definition() (gocron.JobDefinition, error) {
	switch {
	case s.Every != "" && s.Cron != "":
		return nil, fmt.Errorf("give either every or cron, not both")
	case s.Every != "":
		d, err := time.ParseDuration(s.Every)
		if err != nil {
			return nil, fmt.Errorf("every %q: %w", s.Every, err)
		}
		if d < time.Second {
			return nil, fmt.Errorf("every %q: must be at least 1s", s.Every)
		}
		return gocron.DurationJob(d), nil
	case s.Cron != "":
		if _, err := cron.ParseStandard(s.Cron); err != nil {
			return nil, fmt.Errorf("cron %q: %w", s.Cron, err)
		}
		return gocron.CronJob(s.Cron, false), nil
	}
	return nil, nil
}

func oneOf(x string, xs []string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// strptimeSpecifiers are the format specifiers DuckDB's strptime understands (after %, optionally %-).
const strptimeSpecifiers = "aAwdbBmyYHIpMSfgnzZjUWcxXGVu%"

// checkFormat reports a strptime format DuckDB would reject, so a config error shows in `ltc check`
// instead of failing every run.
func checkFormat(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '-' {
			i++
		}
		if i >= len(format) {
			return fmt.Errorf("%q ends in an incomplete specifier", format)
		}
		if !strings.ContainsRune(strptimeSpecifiers, rune(format[i])) {
			return fmt.Errorf("%q: unknown specifier %%%c (DuckDB strptime)", format, format[i])
		}
	}
	return nil
}
