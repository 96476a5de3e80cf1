// Package config reads and validates ltc.yaml: the warehouse file, the listen address, the process
// model, the KPI settings and the ETL sources with their schedules.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/schema"
)

// Config is the whole of ltc.yaml.
type Config struct {
	Database Database `yaml:"database"`
	Server   Server   `yaml:"server"`
	// Process is the process model: a YAML file (relative to the config) or "ltc-standard".
	Process string        `yaml:"process"`
	KPI     KPI           `yaml:"kpi"`
	ETL     ETL           `yaml:"etl"`
	Sources []source.Spec `yaml:"sources"`
	// Initiatives are the change initiatives declared in the file (see InitiativeSpec).
	Initiatives []InitiativeSpec `yaml:"initiatives"`

	// Dir is the folder of the config file; relative paths resolve against it.
	Dir string `yaml:"-"`
}

// Database configures the DuckDB warehouse.
type Database struct {
	Path          string `yaml:"path"`
	MemoryLimit   string `yaml:"memory_limit"`
	Threads       int    `yaml:"threads"`
	TempDirectory string `yaml:"temp_directory"`
}

// Server configures the HTTP server.
type Server struct {
	Listen string `yaml:"listen"`
	// Introspection enables GraphQL introspection (default true).
	Introspection *bool `yaml:"introspection"`
	// RequestTimeout bounds every API request (default 30s).
	RequestTimeout string `yaml:"request_timeout"`
}

// KPI configures the KPI engine.
type KPI struct {
	// SprintAnchor is the first day of sprint 1 (YYYY-MM-DD); sprints are 14-day periods from it.
	SprintAnchor string `yaml:"sprint_anchor"`
	// MetricsWindow is the trailing window of the Prometheus KPI gauges (default 28 days, e.g. "672h").
	MetricsWindow string `yaml:"metrics_window"`
	// MetricsMaxLabels caps the label values (business units, stages, gates) of each KPI gauge
	// family (default 50); values beyond it are dropped from the gauges and counted.
	MetricsMaxLabels int `yaml:"metrics_max_labels"`
	// AdoptionFrom is the stage from which a case counts for adoption KPIs (default: every case);
	// e.g. opportunity_created, when lead-only cases would trivially "adopt" the lead stages.
	AdoptionFrom string `yaml:"adoption_from"`
}

// ETL configures behaviour shared by all sources.
type ETL struct {
	// DeriveEvents derives stage events from entity timestamps (DESIGN §3) for sources without an event log.
	DeriveEvents bool `yaml:"derive_events"`
}

// Defaults.
const (
	DefaultListen = "127.0.0.1:8080"
	DefaultDBPath = "ltc.duckdb"
)

// Environment variables that override the file (secrets and deployment settings).
const (
	EnvDBPath = "LTC_DB_PATH"
	EnvListen = "LTC_LISTEN"
)

// Load reads, expands and validates a config file. ${VAR} references in the file are replaced from
// the environment (for secrets); LTC_DB_PATH and LTC_LISTEN override the file. The error lists every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	}
	c, err := Parse(path, []byte(os.ExpandEnv(string(data))), filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Parse decodes config YAML (file names the source in errors), applies defaults and environment
// overrides, and validates it.
func Parse(file string, data []byte, dir string) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c.Dir = dir
	if v := os.Getenv(EnvDBPath); v != "" {
		c.Database.Path = v
	}
	if v := os.Getenv(EnvListen); v != "" {
		c.Server.Listen = v
	}
	if c.Database.Path == "" {
		c.Database.Path = DefaultDBPath
	}
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Process == "" {
		c.Process = "ltc-standard"
	}
	for i := range c.Sources {
		if c.Sources[i].Kind == "" {
			c.Sources[i].Kind = "file"
		}
	}
	if err := c.validate(file); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate(file string) error {
	var errs []error
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		if seen[s.Name] {
			errs = append(errs, fmt.Errorf("source %q: duplicate name", s.Name))
		}
		seen[s.Name] = true
		errs = append(errs, s.Validate(schema.Targets())...)
	}
	if c.KPI.SprintAnchor != "" {
		if _, err := time.Parse(time.DateOnly, c.KPI.SprintAnchor); err != nil {
			errs = append(errs, fmt.Errorf("kpi.sprint_anchor %q: want YYYY-MM-DD", c.KPI.SprintAnchor))
		}
	}
	if c.KPI.MetricsMaxLabels < 0 {
		errs = append(errs, fmt.Errorf("kpi.metrics_max_labels %d: want a positive number (0 means the default, 50)", c.KPI.MetricsMaxLabels))
	}
	for name, v := range map[string]string{"kpi.metrics_window": c.KPI.MetricsWindow, "server.request_timeout": c.Server.RequestTimeout} {
		if v == "" {
			continue
		}
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s %q: want a positive duration such as 672h", name, v))
		}
	}
	errs = append(errs, validateInitiatives(c.Initiatives)...)
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", file, errors.Join(errs...))
	}
	return nil
}

// Resolve returns p made absolute against the config folder (p unchanged if already absolute or empty).
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Model loads the configured process model.
func (c *Config) Model() (*schema.Model, error) {
	if c.Process == "ltc-standard" {
		return schema.StandardModel(), nil
	}
	return schema.LoadModel(c.Resolve(c.Process))
}

// IntrospectionEnabled reports whether GraphQL introspection is on (default true).
func (s Server) IntrospectionEnabled() bool { return s.Introspection == nil || *s.Introspection }

// Timeout returns the request timeout (default 30s).
func (s Server) Timeout() time.Duration {
	if d, err := time.ParseDuration(s.RequestTimeout); err == nil && d > 0 {
		return d
	}
	return 30 * time.Second
}

// MaxLabels returns the cap on label values per KPI gauge family (default 50).
func (k KPI) MaxLabels() int {
	if k.MetricsMaxLabels > 0 {
		return k.MetricsMaxLabels
	}
	return 50
}

// Window returns the metrics window (default 28 days).
func (k KPI) Window() time.Duration {
	if d, err := time.ParseDuration(k.MetricsWindow); err == nil && d > 0 {
		return d
	}
	return 28 * 24 * time.Hour
}
