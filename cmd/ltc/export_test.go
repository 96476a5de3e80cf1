package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// TestParquetExportReimportKeepsKPIs exports the small demo warehouse as Hive-partitioned Parquet,
// imports it into a fresh database, refreshes the derived tables there, and checks that the KPI
// engine gives the same answers for several families on both.
func TestParquetExportReimportKeepsKPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the small demo")
	}
	ctx := context.Background()
	dir := t.TempDir()
	cfgPath := smallWriterData(t, dir, "")
	a, err := openApp(ctx, cfgPath, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if err := a.loadAll(ctx); err != nil {
		t.Fatal(err)
	}
	export := filepath.Join(dir, "parquet")
	rows, err := schema.ExportParquet(ctx, a.db, export)
	if err != nil {
		t.Fatal(err)
	}
	if rows["stage_events"] == 0 || rows["leads"] == 0 {
		t.Fatalf("export wrote %v", rows)
	}
	// Hand-off files name their sources relative to the config, never by a host path.
	var hostPaths int64
	if err := a.db.Read.QueryRowContext(ctx, "SELECT count(*) FROM read_parquet($1) WHERE _file LIKE '/%' OR _file LIKE $2",
		filepath.Join(export, "stage_events", "*", "*.parquet"), dir+"%").Scan(&hostPaths); err != nil || hostPaths != 0 {
		t.Errorf("exported events with a host path in _file: %d (%v)", hostPaths, err)
	}
	fresh, err := schema.Open(ctx, "", schema.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := schema.ImportParquet(ctx, fresh, export); err != nil {
		t.Fatal(err)
	}
	opts := kpiOptions(a.cfg)
	opts.Now = func() time.Time { return replicaNow }
	opts.CacheSize = -1
	orig := kpi.New(a.db, a.model, opts)
	back := kpi.New(fresh, a.model, opts)
	tx, err := fresh.Write.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Refresh(ctx, tx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s := kpi.Scope{From: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		GroupBy: []string{"business_unit"}, Grain: kpi.GrainMonth}
	families := map[string]func(e *kpi.Engine) (any, error){
		"funnel":         func(e *kpi.Engine) (any, error) { return e.Funnel(ctx, s, nil) },
		"leadConversion": func(e *kpi.Engine) (any, error) { return e.LeadConversion(ctx, s) },
		"winRate":        func(e *kpi.Engine) (any, error) { return e.WinRate(ctx, s) },
		"cycleTimes":     func(e *kpi.Engine) (any, error) { return e.CycleTimes(ctx, s) },
		"valueStream":    func(e *kpi.Engine) (any, error) { return e.ValueStreamOf(ctx, s, kpi.CycleLeadToCash) },
		"adoption":       func(e *kpi.Engine) (any, error) { return e.Adoption(ctx, s) },
		"compliance":     func(e *kpi.Engine) (any, error) { return e.Compliance(ctx, s) },
		"cash":           func(e *kpi.Engine) (any, error) { return e.Cash(ctx, s) },
	}
	for name, f := range families {
		want, err1 := f(orig)
		got, err2 := f(back)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v / %v", name, err1, err2)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		var wv, gv any
		json.Unmarshal(wj, &wv)
		json.Unmarshal(gj, &gv)
		if !sameJSON(wv, gv) {
			t.Errorf("%s differs after the Parquet round trip:\noriginal %.400s\nreimport %.400s", name, wj, gj)
		}
	}
}

// sameJSON compares decoded JSON values, numbers within a relative 1e-9 (sums of floating-point
// shares may differ in the last bits when rows arrive in another order).
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !sameJSON(v, y[k]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}
