package initiative

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// List returns every stored initiative, by id.
func (svc *Service) List(ctx context.Context) ([]Initiative, error) {
	out, err := svc.loadInitiatives(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("initiative.List: %w", err)
	}
	return out, nil
}

// querier is a connection pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// initiativeIDs lists the stored initiatives' ids for an error message ("none" when there are none).
func initiativeIDs(ctx context.Context, q querier) string {
	var ids string
	if err := q.QueryRowContext(ctx, `SELECT coalesce(string_agg(initiative_id, ', ' ORDER BY initiative_id), 'none')
FROM initiatives`).Scan(&ids); err != nil {
		return "unknown"
	}
	return ids
}

// Get returns the stored initiative id; ErrInitiativeNotFound when there is none.
func (svc *Service) Get(ctx context.Context, id string) (*Initiative, error) {
	out, err := svc.loadInitiatives(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("initiative.Get(%q): %w", id, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("initiative.Get: %w: %q (initiatives: %s)", ErrInitiativeNotFound, id, initiativeIDs(ctx, svc.db.Read))
	}
	return &out[0], nil
}

// loadInitiatives reads the stored initiatives (only id when not empty) with their waves and
// targets, by id.
func (svc *Service) loadInitiatives(ctx context.Context, id string) ([]Initiative, error) {
	q := `SELECT initiative_id, name, coalesce(description, ''), CAST(to_json(pilot_units) AS VARCHAR),
  CAST(to_json(coalesce(control_units, [])) AS VARCHAR), baseline_start, baseline_end, start_at, sprint_days,
  coalesce(source, 'api'), updated_at FROM initiatives`
	var args []any
	if id != "" {
		q += " WHERE initiative_id = ?"
		args = append(args, id)
	}
	rows, err := svc.db.Read.QueryContext(ctx, q+" ORDER BY initiative_id", args...)
	if err != nil {
		return nil, err
	}
	var out []Initiative
	byID := map[string]int{}
	for rows.Next() {
		var in Initiative
		var pilot, control string
		var updated sql.NullTime
		if err := rows.Scan(&in.ID, &in.Name, &in.Description, &pilot, &control, &in.BaselineFrom, &in.BaselineTo,
			&in.Start, &in.SprintDays, &in.Source, &updated); err != nil {
			rows.Close()
			return nil, err
		}
		if err := errors.Join(json.Unmarshal([]byte(pilot), &in.PilotUnits), json.Unmarshal([]byte(control), &in.ControlUnits)); err != nil {
			rows.Close()
			return nil, err
		}
		in.BaselineFrom, in.BaselineTo, in.Start = in.BaselineFrom.UTC(), in.BaselineTo.UTC(), in.Start.UTC()
		in.UpdatedAt = updated.Time.UTC()
		in.Waves, in.Targets = []Wave{}, []Target{}
		byID[in.ID] = len(out)
		out = append(out, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	filter, fargs := "", []any{}
	if id != "" {
		filter, fargs = " WHERE initiative_id = ?", []any{id}
	}
	wr, err := svc.db.Read.QueryContext(ctx, "SELECT initiative_id, business_unit, planned_at FROM initiative_waves"+filter+" ORDER BY planned_at, business_unit", fargs...)
	if err != nil {
		return nil, err
	}
	for wr.Next() {
		var iid string
		var w Wave
		if err := wr.Scan(&iid, &w.BusinessUnit, &w.PlannedAt); err != nil {
			wr.Close()
			return nil, err
		}
		w.PlannedAt = w.PlannedAt.UTC()
		if i, ok := byID[iid]; ok {
			out[i].Waves = append(out[i].Waves, w)
		}
	}
	wr.Close()
	if err := wr.Err(); err != nil {
		return nil, err
	}
	tr, err := svc.db.Read.QueryContext(ctx, "SELECT initiative_id, kpi, target FROM initiative_targets"+filter+" ORDER BY kpi", fargs...)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	for tr.Next() {
		var iid, k string
		var v float64
		if err := tr.Scan(&iid, &k, &v); err != nil {
			return nil, err
		}
		if i, ok := byID[iid]; ok {
			out[i].Targets = append(out[i].Targets, Target{KPI: KPI(k), Value: v})
		}
	}
	return out, tr.Err()
}
