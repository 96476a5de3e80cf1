package kpi

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CaseFilter narrows a case list; zero fields filter nothing.
type CaseFilter struct {
	// StageReached keeps cases with at least one event of this stage.
	StageReached string
	// GateViolated keeps cases with a violation (any kind) at this gate.
	GateViolated string
	// Adopted keeps cases that have (true) or have not (false) adopted the process.
	Adopted *bool
}

// CaseRow is one case with its attributes.
type CaseRow struct {
	CaseID       string     `json:"caseId"`
	BusinessUnit string     `json:"businessUnit"`
	Region       string     `json:"region"`
	Segment      string     `json:"segment"`
	ProductLine  string     `json:"productLine"`
	Channel      string     `json:"channel"`
	Owner        string     `json:"owner"`
	OwnerName    string     `json:"ownerName"` // the owner's name from employees ("" when unknown)
	Team         string     `json:"team"`
	Branch       string     `json:"branch"`
	StartedAt    time.Time  `json:"startedAt"`
	LastAt       time.Time  `json:"lastAt"`
	Events       int64      `json:"events"`
	Furthest     string     `json:"furthest"` // furthest stage reached ("" when none)
	Adopted      bool       `json:"adopted"`
	Status       string     `json:"status"`
	ClosedAt     *time.Time `json:"closedAt"`
}

// Cases lists the cases that started in the scope (filters apply; GroupBy, Grain and the previous
// period do not), ordered by start and id, first at a time after the cursor.
func (e *Engine) Cases(ctx context.Context, s Scope, f CaseFilter, first int, after string) (*Page[CaseRow], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if err := pageSize(first); err != nil {
		return nil, err
	}
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	b := &sqlBuilder{}
	b.add(`SELECT c.case_id, coalesce(c.business_unit, ''), coalesce(c.region, ''), coalesce(c.segment, ''),
       coalesce(c.product_line, ''), coalesce(c.channel, ''), coalesce(c.owner, ''),
       coalesce((SELECT any_value(name) FROM employees WHERE employee_id = c.owner), ''), coalesce(c.team, ''),
       coalesce(c.branch, ''), c.started_at, c.last_at, coalesce(c.events, 0), c.furthest,
       coalesce(c.expected_n > 0 AND c.recorded_n = c.expected_n, false), coalesce(c.status, ''), c.closed_at
FROM kpi_case c WHERE c.started_at >= CAST(? AS TIMESTAMP) AND c.started_at < CAST(? AS TIMESTAMP)`, ts(s.From), ts(s.To))
	fs, fargs := e.filterSQL(ctx, s)
	b.add(fs, fargs...)
	if f.StageReached != "" {
		p, err := e.stage(f.StageReached)
		if err != nil {
			return nil, err
		}
		b.add(fmt.Sprintf(" AND c.reached & %s <> 0", bit(p)))
	}
	if f.GateViolated != "" {
		g, err := e.gateByID(f.GateViolated)
		if err != nil {
			return nil, err
		}
		b.add(fmt.Sprintf(" AND c.case_id IN (SELECT case_id FROM kpi_case_gate WHERE gate_pos = %d AND kind <> 'compliant')", g.pos))
	}
	if f.Adopted != nil {
		b.add(" AND coalesce(c.expected_n > 0 AND c.recorded_n = c.expected_n, false) = ?", *f.Adopted)
	}
	if cur != nil {
		b.add(" AND (c.started_at, c.case_id) > (CAST(? AS TIMESTAMP), ?)", ts(cur.At), cur.Case)
	}
	b.add(" ORDER BY c.started_at, c.case_id LIMIT ?", first+1)
	key := fmt.Sprintf("%s|%+v|%v|%d|%s", s.key(), [2]string{f.StageReached, f.GateViolated}, adoptedKey(f.Adopted), first, after)
	return cached(ctx, e, "cases", key, func(ctx context.Context) (*Page[CaseRow], error) {
		p, err := e.cases(ctx, b, first)
		if err != nil {
			return nil, fmt.Errorf("kpi.Cases: %w", err)
		}
		return p, nil
	})
}

func adoptedKey(b *bool) string {
	if b == nil {
		return "any"
	}
	return fmt.Sprint(*b)
}

func (e *Engine) cases(ctx context.Context, b *sqlBuilder, first int) (*Page[CaseRow], error) {
	rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &Page[CaseRow]{Rows: []CaseRow{}}
	for rows.Next() {
		var r CaseRow
		var last, closed sql.NullTime
		var furthest sql.NullInt64
		if err := rows.Scan(&r.CaseID, &r.BusinessUnit, &r.Region, &r.Segment, &r.ProductLine, &r.Channel, &r.Owner, &r.OwnerName,
			&r.Team, &r.Branch, &r.StartedAt, &last, &r.Events, &furthest, &r.Adopted, &r.Status, &closed); err != nil {
			return nil, err
		}
		if len(out.Rows) == first {
			out.HasNextPage = true
			break
		}
		r.StartedAt = r.StartedAt.UTC()
		r.LastAt = last.Time.UTC()
		if furthest.Valid && int(furthest.Int64) < len(e.model.Stages) {
			r.Furthest = e.model.Stages[furthest.Int64].ID
		}
		if closed.Valid {
			t := closed.Time.UTC()
			r.ClosedAt = &t
		}
		out.Rows = append(out.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n := len(out.Rows); n > 0 {
		out.EndCursor = encodeCursor(cursor{At: out.Rows[n-1].StartedAt, Case: out.Rows[n-1].CaseID})
	}
	return out, nil
}

// Event is one event of a case's timeline.
type Event struct {
	Stage        string    `json:"stage"` // "" for the personal tier
	Activity     string    `json:"activity"`
	OccurredAt   time.Time `json:"occurredAt"`
	ActorID      string    `json:"actorId"`
	ActorRole    string    `json:"actorRole"`
	Outcome      string    `json:"outcome"`
	TemplateUsed *bool     `json:"templateUsed"`
	Source       string    `json:"source"`
	Seq          int64     `json:"seq"`
}

// Timeline returns every event of a case, personal tier included, ordered by (occurred_at, seq).
// An unknown case has an empty timeline, and so has a case outside the row scope of ctx.
func (e *Engine) Timeline(ctx context.Context, caseID string) ([]Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return cached(ctx, e, "timeline", caseID, func(ctx context.Context) ([]Event, error) {
		q := `SELECT coalesce(stage, ''), activity, occurred_at, coalesce(actor_id, ''),
       coalesce(actor_role, ''), coalesce(outcome, ''), template_used, source, seq
FROM stage_events WHERE case_id = ?`
		args := []any{caseID}
		if r, rargs := rowSQL(ctx); r != "" {
			q += " AND case_id IN (SELECT c.case_id FROM kpi_case c WHERE c.case_id = ?" + r + ")"
			args = append(append(args, caseID), rargs...)
		}
		rows, err := e.db.Read.QueryContext(ctx, q+" ORDER BY occurred_at, seq", args...)
		if err != nil {
			return nil, fmt.Errorf("kpi.Timeline: %w", err)
		}
		defer rows.Close()
		out := []Event{}
		for rows.Next() {
			var ev Event
			var tu sql.NullBool
			if err := rows.Scan(&ev.Stage, &ev.Activity, &ev.OccurredAt, &ev.ActorID, &ev.ActorRole, &ev.Outcome, &tu, &ev.Source, &ev.Seq); err != nil {
				return nil, fmt.Errorf("kpi.Timeline: %w", err)
			}
			ev.OccurredAt = ev.OccurredAt.UTC()
			if tu.Valid {
				v := tu.Bool
				ev.TemplateUsed = &v
			}
			out = append(out, ev)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("kpi.Timeline: %w", err)
		}
		return out, nil
	})
}
