// Package graph is the GraphQL API: the gqlgen schema (one *.graphqls file per domain), thin
// resolvers over schema and the KPI engine, and the production HTTP handler with its limits and
// error codes.
package graph

//go:generate go tool gqlgen generate

import (
	"log/slog"

	"github.com/ltc-analytics/ltc/initiative"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// Deps are the Resolver's dependencies, built in cmd/ltc.
type Deps struct {
	// DB is the warehouse; resolvers read through DB.Read.
	DB *schema.DB
	// Version is the build version reported by health.
	Version string
	// Logger receives resolver-level logs; nil means slog.Default().
	Logger *slog.Logger
	// KPI is the KPI engine the KPI fields query; without it they fail INTERNAL.
	KPI *kpi.Engine
	// Initiatives stores and measures change initiatives; nil means initiative.New(DB, KPI) when
	// both are set (the service is stateless), else the initiative fields fail INTERNAL.
	Initiatives *initiative.Service
}

// Resolver is the root resolver; gqlgen calls its per-type resolvers. It holds no mutable state.
type Resolver struct {
	db      *schema.DB
	version string
	logger  *slog.Logger
	kpi     *kpi.Engine
	inits   *initiative.Service
}

// NewResolver returns a Resolver over deps.
func NewResolver(deps Deps) *Resolver {
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}
	version := deps.Version
	if version == "" {
		version = "dev"
	}
	inits := deps.Initiatives
	if inits == nil && deps.DB != nil && deps.KPI != nil {
		inits = initiative.New(deps.DB, deps.KPI)
	}
	return &Resolver{db: deps.DB, version: version, logger: logger, kpi: deps.KPI, inits: inits}
}
