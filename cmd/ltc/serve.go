package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/server"
)

// errLoading is what /readyz reports until the initial load has finished.
var errLoading = errors.New("initial ETL load in progress")

// serve runs the HTTP server until ctx is cancelled. With initialLoad, every job runs once first
// (in the background; /readyz answers 503 until it is done), then the ETL schedule starts.
// Shutdown order: stop accepting requests, stop the scheduler (a running job finishes or rolls
// back), then the caller closes the database. insecure allows a non-loopback address without auth.
func (a *app) serve(ctx context.Context, initialLoad, insecure bool) error {
	sec, err := newSecurity(a.cfg, insecure, a.registry, a.logger)
	if err != nil {
		return err
	}
	sched, err := etl.NewScheduler(a.runner)
	if err != nil {
		return err
	}
	// Listen before anything slow: an address in use fails the command at once (and the caller
	// then closes the warehouse, releasing its lock) instead of after the initial load.
	ln, err := net.Listen("tcp", a.cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if a.cfg.Server.MetricsListen != "" {
		mln, err := net.Listen("tcp", a.cfg.Server.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("serve: metrics: %w", err)
		}
		sec.server.MetricsListener = mln
	}
	// A server that stops on its own (an accept error) cancels the load, the schedule and the gauges.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := a.metrics.Seed(ctx, a.db); err != nil {
		ln.Close()
		if sec.server.MetricsListener != nil {
			sec.server.MetricsListener.Close()
		}
		return err
	}
	codes := apiErrorCodes()
	gql := graph.NewHandler(graph.NewResolver(graph.Deps{DB: a.db, KPI: a.kpi, Initiatives: a.initiatives, Version: version, Logger: a.logger}),
		sec.graphOptions(graph.HandlerOptions{
			DisableIntrospection: !a.cfg.Server.IntrospectionEnabled(),
			Timeout:              a.cfg.Server.Timeout(),
			MaxResponseBytes:     a.cfg.Server.MaxResponseBytes,
			MaxResultRows:        a.cfg.Server.MaxResultRows,
			DataVersion:          a.db.Version,
			ErrorCodes:           codes,
			Logger:               a.logger,
			Observe:              a.graphqlMetrics.Observe,
		}))
	var loading atomic.Bool
	loading.Store(initialLoad)
	srv := server.New(server.Options{
		Listener: ln,
		DB:       a.db,
		GraphQL:  gql,
		UI:       newUI(a.logger),
		Registry: a.registry,
		Logger:   a.logger,
		Security: sec.server,
		Ready: func() error {
			if loading.Load() {
				return errLoading
			}
			return nil
		},
	})
	waitKPIMetrics := a.runKPIMetrics(ctx)
	served := make(chan error, 1)
	go func() {
		err := srv.Run(ctx)
		if err != nil {
			cancel()
		}
		served <- err
	}()
	a.logger.Info("serving", "url", sec.scheme()+"://"+a.cfg.Server.Listen, "db", a.db.Path)
	if initialLoad {
		if err := a.loadAll(ctx); err != nil {
			a.logger.Warn("initial load had failures; serving the data that loaded", "err", err)
		}
		loading.Store(false)
	}
	waitSnapshots := a.snapshots.run(ctx) // after the initial load: replicas never see a half-loaded warehouse
	if ctx.Err() == nil {
		sched.Start()
	}
	err = <-served
	if shErr := sched.Shutdown(); shErr != nil {
		err = errors.Join(err, shErr)
	}
	waitKPIMetrics()
	waitSnapshots()
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// apiErrorCodes is the GraphQL error-code table of the KPI API (writer and read replicas).
func apiErrorCodes() *graph.ErrorCodes { return graph.KPIErrorCodes() }
