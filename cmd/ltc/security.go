package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/auth"
	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/server"
)

// security is the wiring of authentication and limits for one serving process: the server's
// Security and the GraphQL handler's role enforcement, sharing one refusal counter.
type security struct {
	server server.Security
}

// newSecurity builds the security settings from the config. It fails early, before anything is
// loaded, on bad tokens and on a non-loopback listen address without auth (unless insecure).
func newSecurity(cfg *config.Config, insecure bool, reg prometheus.Registerer, logger *slog.Logger) (*security, error) {
	keyring, err := cfg.Auth.Keyring()
	if err != nil {
		return nil, err
	}
	authOn := keyring != nil
	for _, addr := range []string{cfg.Server.Listen, cfg.Server.MetricsListen} {
		if addr == "" {
			continue
		}
		if err := server.CheckListen(addr, authOn, insecure); err != nil {
			return nil, err
		}
		if !authOn && insecure && server.CheckListen(addr, false, false) != nil {
			logger.Warn("serving WITHOUT authentication on a non-loopback address (--insecure): anyone who can reach it reads every KPI", "addr", addr)
		}
	}
	perSecond, burst := cfg.Server.Rate()
	sec := server.Security{
		Keyring:              keyring,
		Insecure:             insecure,
		TLSCertFile:          cfg.Resolve(cfg.Server.TLS.CertFile),
		TLSKeyFile:           cfg.Resolve(cfg.Server.TLS.KeyFile),
		SecureCookies:        cfg.Server.SecureCookies,
		MetricsListen:        cfg.Server.MetricsListen,
		CORSOrigins:          cfg.Server.CORSOrigins,
		MaxBodyBytes:         cfg.Server.BodyLimit(),
		BodyTimeout:          cfg.Server.BodyWait(),
		MaxConcurrentQueries: cfg.Server.ConcurrentQueries(),
		QueueTimeout:         cfg.Server.QueueWait(),
		RatePerSecond:        perSecond,
		RateBurst:            burst,
		Refusals:             server.NewRefusals(reg),
	}
	if authOn {
		sec.Sessions = auth.NewSessions(cfg.Auth.TTL(), nil)
		logger.Info("authentication on", "tokens", keyring.Len(), "session_ttl", cfg.Auth.TTL().String())
	}
	return &security{server: sec}, nil
}

// graphOptions sets the GraphQL handler's role enforcement and refusal counting.
func (s *security) graphOptions(opts graph.HandlerOptions) graph.HandlerOptions {
	opts.EnforceRoles = s.server.Keyring != nil
	refusals := s.server.Refusals
	opts.Refused = func(ctx context.Context, code graph.Code) { refusals.Record(ctx, string(code)) }
	return opts
}

// scheme is the URL scheme the server answers on.
func (s *security) scheme() string {
	if s.server.TLSCertFile != "" {
		return "https"
	}
	return "http"
}
