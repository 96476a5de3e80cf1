// Package config reads and validates ltc.yaml: the warehouse file, the listen address, the process
// model, the KPI settings and the ETL sources with their schedules.
package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/etl/source"
	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
)

// Config is the whole of ltc.yaml.
type Config struct {
	Database Database `yaml:"database"`
	Server   Server   `yaml:"server"`
	// Auth configures API tokens and dashboard sessions; without tokens the server answers only on
	// a loopback address (unless --insecure) and does not authenticate.
	Auth Auth `yaml:"auth"`
	// Process is the process model: a YAML file (relative to the config) or "ltc-standard".
	Process string        `yaml:"process"`
	KPI     KPI           `yaml:"kpi"`
	ETL     ETL           `yaml:"etl"`
	Sources []source.Spec `yaml:"sources"`
	// Dimensions are the custom dimensions: each names (name, lower_snake) a source attribute
	// (attribute: what some source maps as columns attributes.<attribute>), with an optional title
	// and description; KPIs filter and group on them like the built-ins.
	Dimensions []schema.Dimension `yaml:"dimensions"`
	// Initiatives are the change initiatives declared in the file (see initiative.Spec).
	Initiatives []initiative.Spec `yaml:"initiatives"`

	// Dir is the folder of the config file; relative paths resolve against it.
	Dir string `yaml:"-"`
}

// Database configures the DuckDB warehouse.
type Database struct {
	Path string `yaml:"path"`
	// MemoryLimit is the process's memory budget (e.g. 2GiB, the default); DuckDB's own
	// memory_limit gets three quarters of it (schema.Options.MemoryLimit).
	MemoryLimit   string `yaml:"memory_limit"`
	Threads       int    `yaml:"threads"`
	TempDirectory string `yaml:"temp_directory"`
	// SnapshotDir, when set, is where the serving writer publishes a read-only snapshot after each
	// ETL commit (DIR/current names the newest; two older ones are kept) for `ltc serve --read-only`.
	SnapshotDir string `yaml:"snapshot_dir"`
}

// Server configures the HTTP server.
type Server struct {
	Listen string `yaml:"listen"`
	// Introspection enables GraphQL introspection (default true).
	Introspection *bool `yaml:"introspection"`
	// RequestTimeout bounds every API request (default 30s).
	RequestTimeout string `yaml:"request_timeout"`
	// MetricsListen, when set, serves /metrics on this address instead of Listen (e.g. a private
	// interface for Prometheus); LTC_METRICS_LISTEN overrides it.
	MetricsListen string `yaml:"metrics_listen"`
	// TLS serves HTTPS from a certificate and key file (both or neither).
	TLS TLS `yaml:"tls"`
	// SecureCookies marks session cookies Secure when a proxy in front terminates TLS.
	SecureCookies bool `yaml:"secure_cookies"`
	// CORSOrigins are the origins (scheme://host[:port]) allowed to call the API from a browser on
	// another origin; none by default (CORS off).
	CORSOrigins []string `yaml:"cors_origins"`
	// MaxBodyBytes caps a request body (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxResponseBytes caps one GraphQL answer's JSON (default 8 MiB); MaxResultRows caps the KPI
	// result rows (totals, groups, series points, list nodes) of one request (default 10,000).
	// Larger answers are refused TOO_LARGE (or TOO_COMPLEX when estimated before running).
	MaxResponseBytes int `yaml:"max_response_bytes"`
	MaxResultRows    int `yaml:"max_result_rows"`
	// BodyTimeout bounds the time to receive a request body after its headers (default 10s); a body
	// still arriving then has its connection closed.
	BodyTimeout string `yaml:"body_timeout"`
	// MaxConcurrentQueries caps the GraphQL requests running at once (they share DuckDB's threads;
	// default 16); a request waits up to QueueTimeout for a slot, then gets 503 OVERLOADED.
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
	// QueueTimeout is how long a request waits for a query slot (default 10s: long enough for a cold
	// cache after a commit, when every dashboard recomputes at once).
	QueueTimeout string `yaml:"queue_timeout"`
	// RateLimit limits the requests of each token (and sign-in attempts per client address).
	RateLimit RateLimit `yaml:"rate_limit"`
}

// TLS names the certificate and key files (PEM) for HTTPS, relative to the config file.
type TLS struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Enabled reports whether TLS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// RateLimit is a token bucket per caller: PerSecond requests on average, bursts up to Burst.
type RateLimit struct {
	// PerSecond is the sustained rate (default 20; negative: no limit).
	PerSecond float64 `yaml:"per_second"`
	// Burst is the bucket size (default 60).
	Burst int `yaml:"burst"`
}

// Auth configures authentication.
type Auth struct {
	// Tokens are the API tokens (hashed); LTC_TOKENS adds more (a YAML or JSON list of the same).
	Tokens []auth.TokenSpec `yaml:"tokens"`
	// SessionTTL is how long a dashboard sign-in lasts (default 12h).
	SessionTTL string `yaml:"session_ttl"`
}

// Enabled reports whether any token is configured: then every API request must authenticate.
func (a Auth) Enabled() bool { return len(a.Tokens) > 0 }

// Keyring returns the tokens as a keyring (nil when none is configured).
func (a Auth) Keyring() (*auth.Keyring, error) {
	if !a.Enabled() {
		return nil, nil
	}
	return auth.NewKeyring(a.Tokens)
}

// TTL returns the session lifetime (default 12h).
func (a Auth) TTL() time.Duration {
	if d, err := time.ParseDuration(a.SessionTTL); err == nil && d > 0 {
		return d
	}
	return auth.DefaultSessionTTL
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
	// MinSample is the n below which a KPI value is flagged lowSample (drawn faint, never read as a
	// change; default 30). The shipped alert rules keep their own minimum of 30 cases.
	MinSample int `yaml:"min_sample"`
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
	// EnvMetricsListen overrides server.metrics_listen.
	EnvMetricsListen = "LTC_METRICS_LISTEN"
	// EnvTokens adds API tokens: a YAML or JSON list of {name, hash, role, business_units, regions}.
	EnvTokens = "LTC_TOKENS"
)

// Load reads, expands and validates a config file. ${VAR} references in the file are replaced from
// the environment (for secrets; see ExpandEnv); LTC_DB_PATH and LTC_LISTEN override the file. The
// error lists every problem.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config.Load: %w", err)
	}
	c, err := Parse(path, []byte(ExpandEnv(string(data), os.Getenv)), filepath.Dir(abs))
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ExpandEnv replaces each ${NAME} in s (NAME: a letter or underscore, then letters, digits,
// underscores) with getenv(NAME), and each $$ with a single $. Every other $ is kept as written, so
// a value such as "$1 off" or "price in $" survives.
func ExpandEnv(s string, getenv func(string) string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
			if end := strings.IndexByte(s[i+2:], '}'); end > 0 && isEnvName(s[i+2:i+2+end]) {
				b.WriteString(getenv(s[i+2 : i+2+end]))
				i += 2 + end
				continue
			}
		}
		b.WriteByte('$')
	}
	return b.String()
}

func isEnvName(name string) bool {
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return name != ""
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
	if v := os.Getenv(EnvMetricsListen); v != "" {
		c.Server.MetricsListen = v
	}
	if v := os.Getenv(EnvTokens); strings.TrimSpace(v) != "" {
		var more []auth.TokenSpec
		dec := yaml.NewDecoder(strings.NewReader(v)) // YAML is a superset of JSON
		dec.KnownFields(true)
		if err := dec.Decode(&more); err != nil {
			// The value holds only hashes, but the decoder's message may quote it: do not echo it.
			return nil, fmt.Errorf("%s: not a YAML or JSON list of tokens {name, hash, role, business_units, regions}", EnvTokens)
		}
		c.Auth.Tokens = append(c.Auth.Tokens, more...)
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
			c.Sources[i].Kind = source.KindOf(c.Sources[i].Format)
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
	if c.KPI.MinSample < 0 || c.KPI.MinSample > 1_000_000 {
		errs = append(errs, fmt.Errorf("kpi.min_sample %d: want 1..1000000 (0 means the default, 30)", c.KPI.MinSample))
	}
	if c.KPI.MetricsMaxLabels < 0 {
		errs = append(errs, fmt.Errorf("kpi.metrics_max_labels %d: want a positive number (0 means the default, 50)", c.KPI.MetricsMaxLabels))
	}
	if c.Database.MemoryLimit != "" {
		if n, err := schema.ParseMemory(c.Database.MemoryLimit); err != nil {
			errs = append(errs, fmt.Errorf("database.memory_limit: %w", err))
		} else if n < MinMemoryLimit {
			errs = append(errs, fmt.Errorf("database.memory_limit %s: want at least 64MiB (the default is 2GiB)", c.Database.MemoryLimit))
		}
	}
	if c.Database.Threads < 0 {
		errs = append(errs, fmt.Errorf("database.threads %d: want a positive number (0 means one per CPU)", c.Database.Threads))
	}
	errs = append(errs, c.Server.validate()...)
	if _, err := c.Auth.Keyring(); err != nil {
		errs = append(errs, fmt.Errorf("auth.tokens: %w", errors.Unwrap(err)))
	}
	for name, v := range map[string]string{"kpi.metrics_window": c.KPI.MetricsWindow, "server.request_timeout": c.Server.RequestTimeout,
		"server.queue_timeout": c.Server.QueueTimeout, "server.body_timeout": c.Server.BodyTimeout, "auth.session_ttl": c.Auth.SessionTTL} {
		if v == "" {
			continue
		}
		if d, err := time.ParseDuration(v); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s %q: want a positive duration such as 672h", name, v))
		}
	}
	errs = append(errs, validateInitiatives(c.Initiatives)...)
	errs = append(errs, c.validateDimensions()...)
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", file, errors.Join(errs...))
	}
	return nil
}

// validateDimensions checks the custom dimensions (schema.CheckDimensions) and that some source
// maps each one's attribute.
func (c *Config) validateDimensions() []error {
	errs := schema.CheckDimensions(c.Dimensions)
	mapped := map[string]bool{}
	for i := range c.Sources {
		for _, a := range c.Sources[i].Attributes() {
			mapped[a] = true
		}
	}
	for i, d := range c.Dimensions {
		if schema.IsAttributeName(d.Attribute) && !mapped[d.Attribute] {
			errs = append(errs, fmt.Errorf("dimensions[%d] (%s): attribute %q: no source maps it (add columns: {%s%s: {from: <source column>}} to a leads or opportunities source)",
				i, d.Name, d.Attribute, source.AttributePrefix, d.Attribute))
		}
	}
	return errs
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

// validate checks the security and limit settings.
func (s Server) validate() []error {
	var errs []error
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		errs = append(errs, errors.New("server.tls: give both cert_file and key_file, or neither"))
	}
	for _, o := range s.CORSOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("server.cors_origins %q: want an origin such as https://bi.example.com", o))
		}
	}
	if s.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("server.max_body_bytes %d: want a positive number (0 means the default, 1 MiB)", s.MaxBodyBytes))
	}
	if s.MaxResponseBytes < 0 {
		errs = append(errs, fmt.Errorf("server.max_response_bytes %d: want a positive number (0 means the default, 8 MiB)", s.MaxResponseBytes))
	}
	if s.MaxResultRows < 0 {
		errs = append(errs, fmt.Errorf("server.max_result_rows %d: want a positive number (0 means the default, 10000)", s.MaxResultRows))
	}
	if s.MaxConcurrentQueries < 0 {
		errs = append(errs, fmt.Errorf("server.max_concurrent_queries %d: want a positive number (0 means the default, 16)", s.MaxConcurrentQueries))
	}
	if s.RateLimit.Burst < 0 {
		errs = append(errs, fmt.Errorf("server.rate_limit.burst %d: want a positive number (0 means the default, 60)", s.RateLimit.Burst))
	}
	return errs
}

// MinMemoryLimit is the smallest database.memory_limit accepted: below it DuckDB cannot run a KPI
// refresh and the Go heap has no room for a response.
const MinMemoryLimit = 64 << 20

// Defaults of the server limits.
const (
	DefaultMaxBodyBytes         = 1 << 20
	DefaultMaxConcurrentQueries = 16
	DefaultQueueTimeout         = 10 * time.Second
	DefaultBodyTimeout          = 10 * time.Second
	DefaultRatePerSecond        = 20
	DefaultRateBurst            = 60
)

// BodyLimit returns the request body cap in bytes (default 1 MiB).
func (s Server) BodyLimit() int64 {
	if s.MaxBodyBytes > 0 {
		return s.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// ConcurrentQueries returns the cap on concurrent GraphQL requests (default 16).
func (s Server) ConcurrentQueries() int {
	if s.MaxConcurrentQueries > 0 {
		return s.MaxConcurrentQueries
	}
	return DefaultMaxConcurrentQueries
}

// QueueWait returns how long a request waits for a query slot (default 10s).
func (s Server) QueueWait() time.Duration {
	if d, err := time.ParseDuration(s.QueueTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultQueueTimeout
}

// BodyWait returns how long a request body may take to arrive (default 10s).
func (s Server) BodyWait() time.Duration {
	if d, err := time.ParseDuration(s.BodyTimeout); err == nil && d > 0 {
		return d
	}
	return DefaultBodyTimeout
}

// Rate returns the per-caller rate limit: requests per second (0: unlimited) and burst.
func (s Server) Rate() (perSecond float64, burst int) {
	perSecond, burst = s.RateLimit.PerSecond, s.RateLimit.Burst
	switch {
	case perSecond < 0:
		return 0, 0
	case perSecond == 0:
		perSecond = DefaultRatePerSecond
	}
	if burst <= 0 {
		burst = DefaultRateBurst
	}
	return perSecond, burst
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
