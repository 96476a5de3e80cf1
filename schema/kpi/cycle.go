package kpi

import (
	"context"
	"fmt"
)

// Duration summarises a duration in days over N cases (N is in each Value).
type Duration struct {
	P50  Value `json:"p50"`
	P90  Value `json:"p90"`
	Mean Value `json:"mean"`
}

// CycleTimes are the cycle times of DESIGN §5.3, in days.
type CycleTimes struct {
	// Sales is first contract_signed − case start.
	Sales Duration `json:"sales"`
	// Delivery is first delivery_accepted − first contract_signed.
	Delivery Duration `json:"delivery"`
	// Cash is first cash_collected − first invoiced.
	Cash Duration `json:"cash"`
	// LeadToCash is first cash_collected − case start.
	LeadToCash Duration `json:"leadToCash"`
}

// CycleTimes returns the cycle times of the cases whose end event (the later of each pair) falls in
// the scope. Percentiles are DuckDB's quantile_cont (linear interpolation between the closest
// ranks); cases whose end precedes their start (out-of-order data) are left out.
func (e *Engine) CycleTimes(ctx context.Context, s Scope) (*Breakdown[CycleTimes], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	return cached(ctx, e, "cycleTimes", s.key(), func(ctx context.Context) (*Breakdown[CycleTimes], error) {
		bd, err := e.cycleTimes(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("kpi.CycleTimes: %w", err)
		}
		return bd, nil
	})
}

func (e *Engine) cycleTimes(ctx context.Context, s Scope) (*Breakdown[CycleTimes], error) {
	// The first contract_signed, delivery_accepted, invoiced and cash_collected events are kpi_case
	// columns (NULL when the model lacks the stage), so each range is a zone-map-pruned scan.
	pairs := [][2]string{
		{"c.started_at", "c.signed_at"},
		{"c.signed_at", "c.accepted_at"},
		{"c.invoiced_at", "c.collected_at"},
		{"c.started_at", "c.collected_at"},
	}
	qs := make([]aggQuery, len(pairs))
	for i, p := range pairs {
		d := fmt.Sprintf("((epoch_us(%s) - epoch_us(%s)) / 86400e6)", p[1], p[0])
		qs[i] = aggQuery{table: "kpi_case", ts: p[1], where: fmt.Sprintf("%s <= %s", p[0], p[1]),
			aggs: []string{"count(*)", "quantile_cont(" + d + ", 0.5)", "quantile_cont(" + d + ", 0.9)", "avg(" + d + ")"}}
	}
	return multi(ctx, e, s, qs, func(cur, prev []cell) CycleTimes {
		dur := func(i int) Duration {
			c, p := cur[i], prev[i]
			n, pn := int64(c[0]), int64(p[0])
			return Duration{
				P50:  pair(stat(c[1], n), stat(p[1], pn)),
				P90:  pair(stat(c[2], n), stat(p[2], pn)),
				Mean: pair(stat(c[3], n), stat(p[3], pn)),
			}
		}
		return CycleTimes{Sales: dur(0), Delivery: dur(1), Cash: dur(2), LeadToCash: dur(3)}
	})
}
