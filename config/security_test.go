package config

import (
	"strings"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/auth"
)

func TestAuthAndServerSecurity(t *testing.T) {
	_, hash, _ := auth.NewToken()
	_, hash2, _ := auth.NewToken()
	t.Setenv(EnvTokens, `[{"name": "ops", "hash": "`+hash2+`", "role": "admin"}]`)
	t.Setenv(EnvMetricsListen, "10.0.0.5:9100")
	c, err := Parse("ltc.yaml", []byte(`
server:
  listen: 0.0.0.0:8443
  tls: {cert_file: tls/cert.pem, key_file: tls/key.pem}
  cors_origins: [https://bi.example.com]
  max_body_bytes: 65536
  max_concurrent_queries: 4
  queue_timeout: 500ms
  rate_limit: {per_second: 5, burst: 10}
auth:
  session_ttl: 1h
  tokens:
    - {name: north, hash: `+hash+`, role: analyst, business_units: [North], regions: [EU]}
`), "/srv/ltc")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.Enabled() || len(c.Auth.Tokens) != 2 || c.Auth.TTL() != time.Hour {
		t.Fatalf("auth: %+v", c.Auth)
	}
	k, err := c.Auth.Keyring()
	if err != nil || k.Len() != 2 {
		t.Fatalf("keyring: %v", err)
	}
	s := c.Server
	if !s.TLS.Enabled() || c.Resolve(s.TLS.CertFile) != "/srv/ltc/tls/cert.pem" || s.MetricsListen != "10.0.0.5:9100" ||
		s.BodyLimit() != 65536 || s.ConcurrentQueries() != 4 || s.QueueWait() != 500*time.Millisecond {
		t.Errorf("server: %+v", s)
	}
	if r, b := s.Rate(); r != 5 || b != 10 {
		t.Errorf("rate %v/%v", r, b)
	}
}

func TestSecurityDefaults(t *testing.T) {
	c, err := Parse("ltc.yaml", nil, "/srv")
	if err != nil {
		t.Fatal(err)
	}
	s := c.Server
	if c.Auth.Enabled() || s.Listen != "127.0.0.1:8080" || s.TLS.Enabled() || len(s.CORSOrigins) != 0 || s.MetricsListen != "" {
		t.Errorf("defaults: %+v %+v", s, c.Auth)
	}
	if k, err := c.Auth.Keyring(); k != nil || err != nil {
		t.Errorf("keyring without tokens: %v, %v", k, err)
	}
	if s.BodyLimit() != 1<<20 || s.ConcurrentQueries() != 16 || s.QueueWait() != 10*time.Second || c.Auth.TTL() != 12*time.Hour {
		t.Errorf("limit defaults: %d %d %v %v", s.BodyLimit(), s.ConcurrentQueries(), s.QueueWait(), c.Auth.TTL())
	}
	if r, b := s.Rate(); r != 20 || b != 60 {
		t.Errorf("rate default %v/%v", r, b)
	}
	c.Server.RateLimit.PerSecond = -1
	if r, _ := c.Server.Rate(); r != 0 {
		t.Errorf("negative rate must mean no limit, got %v", r)
	}
}

func TestSecurityErrors(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(`
server:
  tls: {cert_file: cert.pem}
  cors_origins: ["*", "https://ok.example.com", "https://x.example.com/path"]
  max_body_bytes: -1
  max_concurrent_queries: -2
  queue_timeout: soon
auth:
  session_ttl: forever
  tokens:
    - {name: a, hash: ltc_plaintext, role: viewer}
    - {name: b, hash: 0000000000000000000000000000000000000000000000000000000000000000, role: boss}
`), "/tmp")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"server.tls: give both", `server.cors_origins "*"`, `server.cors_origins "https://x.example.com/path"`,
		"server.max_body_bytes -1", "server.max_concurrent_queries -2", `server.queue_timeout "soon"`,
		`auth.session_ttl "forever"`, `token 1 ("a"): hash`, `role "boss"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "https://ok.example.com") {
		t.Errorf("valid origin reported: %v", err)
	}
}

func TestBadTokensEnvDoesNotEcho(t *testing.T) {
	t.Setenv(EnvTokens, "ltc_SECRETSECRET: [not a list")
	_, err := Parse("ltc.yaml", nil, "/srv")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), EnvTokens) {
		t.Errorf("bad LTC_TOKENS: %v", err)
	}
}
