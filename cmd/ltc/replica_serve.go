package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/graph"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
	"github.com/ltc-analytics/ltc/server"
)

// replicaPoll is how often a replica serving a snapshot folder looks at DIR/current.
const replicaPoll = 2 * time.Second

// kpiOptions are the KPI engine settings of a config.
func kpiOptions(cfg *config.Config) kpi.Options {
	var anchor time.Time
	if cfg.KPI.SprintAnchor != "" {
		anchor, _ = time.Parse(time.DateOnly, cfg.KPI.SprintAnchor) // validated by config.Load
	}
	return kpi.Options{SprintAnchor: anchor, AdoptionFrom: cfg.KPI.AdoptionFrom, Dimensions: cfg.Dimensions, MinSample: cfg.KPI.MinSample}
}

// loadServeConfig loads the config of `ltc serve`; a read-only replica may run without one
// (explicit is false when --config was left at its default), with the defaults of an empty file.
func loadServeConfig(path string, explicit bool) (*config.Config, error) {
	if _, err := os.Stat(path); !explicit && errors.Is(err, os.ErrNotExist) {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		return config.Parse("(defaults)", nil, wd)
	}
	return config.Load(path)
}

// replica serves a read-only snapshot — a DuckDB file, or the newest snapshot of a folder that
// `ltc snapshot` or a writer's database.snapshot_dir publishes — and, for a folder, switches to
// each newly published snapshot without failing a request: new requests go to the new snapshot
// while the old one drains, and the old database is closed once its last request has finished.
type replica struct {
	cfg    *config.Config
	model  *schema.Model
	source string // --db: a file or a snapshot folder
	logger *slog.Logger
	sec    *security

	mu  sync.RWMutex
	cur *generation
	// draining counts old generations waiting for their requests before they close.
	draining sync.WaitGroup
	switches prometheus.Counter
	// kpiGauges are the KPI gauges over the current snapshot (as on the writer), switched with it.
	kpiGauges *server.KPIMetrics
	// graphqlMetrics time every generation's /graphql operations.
	graphqlMetrics *server.GraphQLMetrics
}

// generation is one opened snapshot with its own engine and GraphQL handler (and so its own caches).
type generation struct {
	file     string
	db       *schema.DB
	eng      *kpi.Engine
	gql      http.Handler
	inflight sync.WaitGroup
}

// serveReplica runs a read-only API server over source until ctx is cancelled: no migrations, no
// ETL scheduler, no initial load; the same authentication and limits as the writer (insecure allows a
// non-loopback address without auth). /readyz reports the data version of the snapshot being served.
func serveReplica(ctx context.Context, cfg *config.Config, source string, insecure bool, logger *slog.Logger) error {
	model, err := cfg.Model()
	if err != nil {
		return err
	}
	if _, err := setGoMemoryLimit(cfg, logger); err != nil {
		return err
	}
	reg := server.NewRegistry()
	sec, err := newSecurity(cfg, insecure, reg, logger)
	if err != nil {
		return err
	}
	if err := kpi.New(nil, model, kpiOptions(cfg)).Check(); err != nil {
		return fmt.Errorf("kpi settings: %w", err)
	}
	r := &replica{cfg: cfg, model: model, source: source, logger: logger, sec: sec, graphqlMetrics: server.NewGraphQLMetrics(reg)}
	file, err := schema.CurrentSnapshot(source)
	if err != nil {
		return err
	}
	g, err := r.open(ctx, file)
	if err != nil {
		return err
	}
	r.cur = g
	r.switches = prometheus.NewCounter(prometheus.CounterOpts{Name: "ltc_replica_snapshot_switches_total",
		Help: "Times this read replica switched to a newly published snapshot."})
	reg.MustRegister(r.switches, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ltc_replica_data_version",
		Help: "Data version of the snapshot this read replica serves."}, func() float64 { return float64(r.version()) }))
	srv := server.New(server.Options{
		Listen:   cfg.Server.Listen,
		GraphQL:  r,
		UI:       newUI(logger),
		Registry: reg,
		Logger:   logger,
		Security: sec.server,
		Probe:    r.probe,
	})
	r.kpiGauges = newKPIGauges(reg, cfg, g.eng, g.db, logger)
	gaugeCtx, stopGauges := context.WithCancel(ctx)
	gauged := make(chan struct{})
	go func() {
		defer close(gauged)
		r.kpiGauges.Run(gaugeCtx)
	}()
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if st, err := os.Stat(source); err == nil && st.IsDir() {
			r.watch(watchCtx, replicaPoll)
		}
	}()
	logger.Info("serving read-only", "url", sec.scheme()+"://"+cfg.Server.Listen, "snapshot", file, "data_version", g.db.Version())
	err = srv.Run(ctx)
	stopWatch()
	<-watched
	stopGauges()
	<-gauged
	r.mu.Lock()
	last := r.cur
	r.mu.Unlock()
	r.draining.Wait()
	last.inflight.Wait()
	if cerr := last.db.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("serve --read-only: %w", err)
	}
	return nil
}

// open opens a snapshot read-only and builds its engine and GraphQL handler.
func (r *replica) open(ctx context.Context, file string) (*generation, error) {
	db, err := schema.Open(ctx, file, schema.Options{ReadOnly: true, MemoryLimit: r.cfg.Database.MemoryLimit,
		Threads: r.cfg.Database.Threads, TempDirectory: r.cfg.Resolve(r.cfg.Database.TempDirectory)})
	if err != nil {
		return nil, err
	}
	eng := kpi.New(db, r.model, kpiOptions(r.cfg))
	gql := graph.NewHandler(graph.NewResolver(graph.Deps{DB: db, KPI: eng, Version: version, Logger: r.logger}),
		r.sec.graphOptions(graph.HandlerOptions{
			DisableIntrospection: !r.cfg.Server.IntrospectionEnabled(),
			Timeout:              r.cfg.Server.Timeout(),
			MaxResponseBytes:     r.cfg.Server.MaxResponseBytes,
			MaxResultRows:        r.cfg.Server.MaxResultRows,
			DataVersion:          db.Version, // a snapshot never changes: its version is read once at open
			ErrorCodes:           apiErrorCodes(),
			Logger:               r.logger,
			Observe:              r.graphqlMetrics.Observe,
		}))
	return &generation{file: file, db: db, eng: eng, gql: gql}, nil
}

// acquire returns the current generation, counted in flight until release.
func (r *replica) acquire() *generation {
	r.mu.RLock()
	g := r.cur
	g.inflight.Add(1) // under the read lock: a swap cannot start draining g before this Add
	r.mu.RUnlock()
	return g
}

// ServeHTTP serves a GraphQL request on the current snapshot.
func (r *replica) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	g := r.acquire()
	defer g.inflight.Done()
	g.gql.ServeHTTP(w, req)
}

// version returns the data version of the snapshot being served.
func (r *replica) version() int64 {
	g := r.acquire()
	defer g.inflight.Done()
	return g.db.Version()
}

// probe is /readyz: the current snapshot answers a ping; the detail names its data version.
func (r *replica) probe(ctx context.Context) (string, error) {
	g := r.acquire()
	defer g.inflight.Done()
	if err := g.db.Read.PingContext(ctx); err != nil {
		return "", fmt.Errorf("snapshot %s: %w", filepath.Base(g.file), err)
	}
	return fmt.Sprintf("data_version=%d snapshot=%s", g.db.Version(), filepath.Base(g.file)), nil
}

// watch polls the folder's current pointer every interval and switches to each new snapshot.
func (r *replica) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		file, err := schema.CurrentSnapshot(r.source)
		if err != nil {
			r.logger.Warn("snapshot folder unreadable; serving the current snapshot", "err", err)
			continue
		}
		r.mu.RLock()
		same := r.cur.file == file
		r.mu.RUnlock()
		if same {
			continue
		}
		g, err := r.open(ctx, file)
		if err != nil {
			// A snapshot pruned between publish and open, or a damaged file: keep serving, retry next tick.
			r.logger.Warn("cannot open the new snapshot; serving the current one", "snapshot", file, "err", err)
			continue
		}
		r.kpiGauges.SetSource(g.eng, g.db) // waits for a refresh on the current snapshot, which stays open
		r.swap(g)
		r.kpiGauges.Trigger()
	}
}

// swap makes g current and closes the previous generation once its in-flight requests finished.
func (r *replica) swap(g *generation) {
	r.mu.Lock()
	old := r.cur
	r.cur = g
	r.mu.Unlock()
	r.switches.Inc()
	r.logger.Info("switched to a new snapshot", "snapshot", g.file, "data_version", g.db.Version(),
		"previous_data_version", old.db.Version())
	r.draining.Add(1)
	go func() {
		defer r.draining.Done()
		old.inflight.Wait()
		if err := old.db.Close(); err != nil {
			r.logger.Warn("closing the previous snapshot", "snapshot", old.file, "err", err)
		}
	}()
}
