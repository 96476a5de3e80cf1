package etl_test

import (
	"testing"

	"github.com/ltc-analytics/ltc/etl"
	"github.com/ltc-analytics/ltc/internal/testwarehouse"
)

func TestDemoDataLoadsCleanly(t *testing.T) {
	w := testwarehouse.Demo(t, "small")
	db, cfg, results := w.DB, w.Config, w.Results
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
