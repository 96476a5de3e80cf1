package etl_test

import (
	"context"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/config"
	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/etl/synth"
	"github.com/ltc-analytics/ltc/schema"
)

// loadDemo generates demo data of the given size into a temp dir and loads it through the ETL.
func loadDemo(tb testing.TB, size string) (*schema.DB, *config.Config, []etl.RunResult) {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	sum, err := synth.Generate(ctx, dir, synth.Options{Size: size, Seed: 7, Now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := config.Load(sum.Config)
	if err != nil {
		tb.Fatal(err)
	}
	model, err := cfg.Model()
	if err != nil {
		tb.Fatal(err)
	}
	db, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	r := etl.NewRunner(etl.Options{DB: db, Model: model, Sources: cfg.Sources, Resolve: cfg.Resolve})
	results, err := r.RunAll(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return db, cfg, results
}

func TestDemoDataLoadsCleanly(t *testing.T) {
	db, cfg, results := loadDemo(t, "small")
	if len(results) != len(cfg.Sources) {
		t.Fatalf("%d results for %d sources", len(results), len(cfg.Sources))
	}
	for _, res := range results {
		if res.Status != etl.StatusSuccess || res.RowsLoaded == 0 || res.RowsQuarantined != 0 {
			t.Errorf("%s: %+v", res.Job, res)
		}
	}
	var leads, events, personal int64
	db.Read.QueryRow("SELECT count(*) FROM leads").Scan(&leads)
	db.Read.QueryRow("SELECT count(*), count(*) FILTER (stage IS NULL) FROM stage_events").Scan(&events, &personal)
	if leads != 10000 || events == 0 || personal == 0 {
		t.Errorf("leads %d, events %d, personal-tier events %d", leads, events, personal)
	}
}
