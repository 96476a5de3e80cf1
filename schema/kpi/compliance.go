package kpi

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// gateLateMaturity is the maturity note (KPI.Maturity) of the violation kinds a later gate pass moves
// a case between.
const gateLateMaturity = "a gate missing before its stage can still be passed later, turning the violation into a late one: the previous period's cases have had one period longer"

// complianceKPIs are process compliance's KPIs (DESIGN §5.6).
var complianceKPIs = []KPI{
	{Name: "compliance", Title: "Process compliance", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of a guarded stage", Over: "cases that entered a guarded stage",
		Definition: "cases with no gate violation / cases that entered any guarded stage", Fields: []string{"Compliance.rate"},
		Maturity: "cases that entered a guarded stage in the period can still enter a later one and break its gate: the previous period's cases have had one period longer"},
	{Name: "gate_compliance", Title: "Gate compliance", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases that entered the guarded stage",
		Definition: "cases that passed the gate at or before entering the stage it guards / cases that entered that stage",
		Fields:     []string{"GateCompliance.rate"}},
	{Name: "gate_entered", Title: "Cases that entered the guarded stage", Unit: UnitCount, Direction: Neutral, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases",
		Definition: "cases whose branch the gate applies to that entered the stage it guards", Fields: []string{"GateCompliance.entered"}},
	{Name: "gate_compliant", Title: "Compliant cases", Unit: UnitCount, Direction: HigherIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases",
		Definition: "cases with a passing gate event at or before their first entry of the guarded stage", Fields: []string{"GateCompliance.compliant"}},
	{Name: "gate_missing", Title: "Violations: gate missing", Unit: UnitCount, Direction: LowerIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases",
		Definition: "cases with no gate event before entering the guarded stage", Fields: []string{"GateCompliance.missing"},
		Maturity: gateLateMaturity},
	{Name: "gate_failed", Title: "Violations: gate failed", Unit: UnitCount, Direction: LowerIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases",
		Definition: "cases whose gate events before the guarded stage all failed", Fields: []string{"GateCompliance.failed"}},
	{Name: "gate_late", Title: "Violations: gate passed late", Unit: UnitCount, Direction: LowerIsBetter, Section: "5.6",
		RangeOn: "the case's first entry of the guarded stage", Over: "cases",
		Definition: "cases that passed the gate only after entering the guarded stage", Fields: []string{"GateCompliance.late"},
		Maturity: gateLateMaturity},
	{Name: "promise_kept", Title: "Delivery promise kept", Unit: UnitRatio, Direction: HigherIsBetter, Section: "5.6",
		RangeOn: "the delivery's accepted_at", Over: "deliveries accepted",
		Definition: "deliveries accepted by the committed delivery date / deliveries accepted", Fields: []string{"Compliance.promiseKept"}},
}

// Violation kinds (DESIGN §5.6): gate G guards stage S; the order is (occurred_at, seq).
const (
	// KindMissing: no G event at or before the first entry of S, and G never passed.
	KindMissing = "missing"
	// KindFailed: G events before S, none passed (ever).
	KindFailed = "failed"
	// KindLate: G passed, but only after the first entry of S (also when it failed before S).
	KindLate = "late"
)

// GateCompliance is compliance at one gate, over the cases that entered the guarded stage in the
// scope and whose branch the gate applies to.
type GateCompliance struct {
	Gate   string `json:"gate"`
	Guards string `json:"guards"`
	// Entered counts the cases that entered the guarded stage.
	Entered   Value `json:"entered"`
	Compliant Value `json:"compliant"`
	// Rate is Compliant / Entered.
	Rate    Value `json:"rate"`
	Missing Value `json:"missing"`
	Failed  Value `json:"failed"`
	Late    Value `json:"late"`
}

// Compliance is process compliance (DESIGN §5.6).
type Compliance struct {
	Gates []GateCompliance `json:"gates"`
	// Rate is cases with no violation at any gate / cases that entered any guarded stage, each case
	// placed in time by its first entry of a guarded stage.
	Rate Value `json:"rate"`
	// PromiseKept is deliveries accepted by the contract's committed_delivery_at / deliveries
	// accepted, by accepted_at (a delivery without a commitment is not kept).
	PromiseKept Value `json:"promiseKept"`
}

// Compliance returns gate compliance and promise keeping in the scope; each gate's range applies
// to the first entry of the stage it guards.
func (e *Engine) Compliance(ctx context.Context, s Scope) (*Breakdown[Compliance], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	return cached(ctx, e, "compliance", s.key(), func(ctx context.Context) (*Breakdown[Compliance], error) {
		bd, err := e.compliance(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("kpi.Compliance: %w", err)
		}
		return bd, nil
	})
}

func (e *Engine) compliance(ctx context.Context, s Scope) (*Breakdown[Compliance], error) {
	var qs []aggQuery
	for _, g := range e.gates {
		qs = append(qs, aggQuery{table: "kpi_case_gate", ts: "c.entered_at", where: fmt.Sprintf("c.gate_pos = %d", g.pos), aggs: []string{
			"count(*)",
			"count(*) FILTER (WHERE c.kind = 'compliant')",
			"count(*) FILTER (WHERE c.kind = 'missing')",
			"count(*) FILTER (WHERE c.kind = 'failed')",
			"count(*) FILTER (WHERE c.kind = 'late')",
		}})
	}
	qs = append(qs,
		aggQuery{table: "kpi_case", ts: "c.guarded_at", aggs: []string{"count(*)", "count(*) FILTER (WHERE NOT c.violated)"}},
		aggQuery{table: "kpi_delivery", ts: "c.accepted_at", aggs: []string{"count(*)", "count(*) FILTER (WHERE c.kept)"}},
	)
	ng := len(e.gates)
	return multi(ctx, e, s, qs, func(cur, prev []cell) Compliance {
		out := Compliance{Gates: make([]GateCompliance, ng)}
		for i, g := range e.gates {
			c, p := cur[i], prev[i]
			n, pn := int64(c[0]), int64(p[0])
			out.Gates[i] = GateCompliance{
				Gate: g.id, Guards: g.guards,
				Entered:   pair(count(c[0], n), count(p[0], pn)),
				Compliant: pair(count(c[1], n), count(p[1], pn)),
				Rate:      pair(proportion(c[1], c[0]), proportion(p[1], p[0])),
				Missing:   pair(count(c[2], n), count(p[2], pn)),
				Failed:    pair(count(c[3], n), count(p[3], pn)),
				Late:      pair(count(c[4], n), count(p[4], pn)),
			}
		}
		out.Rate = rate(cur[ng], prev[ng])
		out.PromiseKept = rate(cur[ng+1], prev[ng+1])
		return out
	})
}

// ViolationRow is one gate violation.
type ViolationRow struct {
	CaseID string `json:"caseId"`
	Gate   string `json:"gate"`
	Kind   string `json:"kind"`
	// EnteredAt is the first entry of the guarded stage (UTC).
	EnteredAt    time.Time `json:"enteredAt"`
	Owner        string    `json:"owner"`
	OwnerName    string    `json:"ownerName"` // the owner's name from employees ("" when unknown)
	BusinessUnit string    `json:"businessUnit"`
}

// Page is one page of a cursor-paginated list; pass EndCursor as `after` for the next page.
type Page[T any] struct {
	Rows        []T    `json:"rows"`
	EndCursor   string `json:"endCursor"`
	HasNextPage bool   `json:"hasNextPage"`
}

// maxPage bounds a page.
const maxPage = 1000

// cursor is the decoded form of an opaque cursor: the sort key of the last row returned.
type cursor struct {
	At   time.Time `json:"t"`
	Case string    `json:"c"`
	Gate int       `json:"g,omitempty"` // gate stage position + 1
	// Order and Key are the violation order the cursor was issued for (empty: newest first) and
	// the last row's value of its sort column.
	Order string `json:"o,omitempty"`
	Key   string `json:"k,omitempty"`
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadScope, ErrBadCursor)
	}
	return &c, nil
}

func pageSize(first int) error {
	if first <= 0 || first > maxPage {
		return fmt.Errorf("%w: first must be in 1..%d, got %d", ErrBadScope, maxPage, first)
	}
	return nil
}

// ViolationSort is a column violations can be ordered by.
type ViolationSort string

// The violation sort columns.
const (
	SortEnteredAt    ViolationSort = "ENTERED_AT"
	SortCase         ViolationSort = "CASE"
	SortGate         ViolationSort = "GATE"
	SortKind         ViolationSort = "KIND"
	SortOwner        ViolationSort = "OWNER"
	SortBusinessUnit ViolationSort = "BUSINESS_UNIT"
)

// violationSortKey is the whitelist of sort columns: column → VARCHAR key expression over
// kpi_case_gate c ("" for the entry time, which is always the next key). Gates sort in model
// order, owners by name (else id).
var violationSortKey = map[ViolationSort]string{
	SortEnteredAt:    "",
	SortCase:         "c.case_id",
	SortGate:         "lpad(CAST(c.gate_pos AS VARCHAR), 6, '0')",
	SortKind:         "c.kind",
	SortOwner:        "coalesce((SELECT any_value(name) FROM employees WHERE employee_id = c.owner), c.owner, '')",
	SortBusinessUnit: "coalesce(c.business_unit, '')",
}

// ViolationOrder orders violations by one column, ties broken by entry time, case and gate in the
// same direction. The zero value is newest first.
type ViolationOrder struct {
	By  ViolationSort
	Asc bool
}

// id names the order inside a cursor ("" for newest first).
func (o ViolationOrder) id() string {
	if (o.By == "" || o.By == SortEnteredAt) && !o.Asc {
		return ""
	}
	dir := "desc"
	if o.Asc {
		dir = "asc"
	}
	return string(o.By) + ":" + dir
}

// Violations lists the gate violations whose guarded stage was first entered in the scope (the
// previous period, GroupBy and Grain are ignored), newest first: by entry time, case and gate
// order, descending.
func (e *Engine) Violations(ctx context.Context, s Scope, first int, after string) (*Page[ViolationRow], error) {
	return e.ViolationsOrdered(ctx, s, ViolationOrder{}, first, after)
}

// ViolationsOrdered is Violations in the given order; a cursor continues only the order it was
// issued for.
func (e *Engine) ViolationsOrdered(ctx context.Context, s Scope, o ViolationOrder, first int, after string) (*Page[ViolationRow], error) {
	if err := e.check(ctx, s); err != nil {
		return nil, err
	}
	if err := pageSize(first); err != nil {
		return nil, err
	}
	if o.By == "" {
		o.By = SortEnteredAt
	}
	if _, ok := violationSortKey[o.By]; !ok {
		return nil, fmt.Errorf("%w: unknown violation order %q", ErrBadScope, o.By)
	}
	cur, err := decodeCursor(after)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Order != o.id() {
		return nil, fmt.Errorf("%w: %w (issued for another order)", ErrBadScope, ErrBadCursor)
	}
	return cached(ctx, e, "violations", fmt.Sprintf("%s|%s|%d|%s", s.key(), o.id(), first, after), func(ctx context.Context) (*Page[ViolationRow], error) {
		p, err := e.violations(ctx, s, o, first, cur)
		if err != nil {
			return nil, fmt.Errorf("kpi.Violations: %w", err)
		}
		return p, nil
	})
}

func (e *Engine) violations(ctx context.Context, s Scope, o ViolationOrder, first int, after *cursor) (*Page[ViolationRow], error) {
	out := &Page[ViolationRow]{Rows: []ViolationRow{}}
	if len(e.gates) == 0 {
		return out, nil
	}
	b := &sqlBuilder{}
	key := violationSortKey[o.By]
	cols := []string{"c.entered_at", "c.case_id", "c.gate_pos"}
	sel := "''"
	if key != "" {
		cols = append([]string{"(" + key + ")"}, cols...)
		sel = key
	}
	keys := strings.Join(cols, ", ")
	b.add(`SELECT c.case_id, c.gate_pos, c.kind, c.entered_at, coalesce(c.owner, ''),
       coalesce((SELECT any_value(name) FROM employees WHERE employee_id = c.owner), ''), coalesce(c.business_unit, ''), `+sel+`
FROM kpi_case_gate c
WHERE c.kind <> 'compliant' AND c.entered_at >= CAST(? AS TIMESTAMP) AND c.entered_at < CAST(? AS TIMESTAMP)`,
		ts(s.From), ts(s.To))
	f, fargs := e.filterSQL(ctx, s)
	b.add(f, fargs...)
	cmp, dir := "<", " DESC"
	if o.Asc {
		cmp, dir = ">", " ASC"
	}
	if after != nil {
		if key != "" {
			b.add(" AND ("+keys+") "+cmp+" (?, CAST(? AS TIMESTAMP), ?, ?)", after.Key, ts(after.At), after.Case, after.Gate-1)
		} else {
			b.add(" AND ("+keys+") "+cmp+" (CAST(? AS TIMESTAMP), ?, ?)", ts(after.At), after.Case, after.Gate-1)
		}
	}
	b.add(" ORDER BY "+strings.Join(cols, dir+", ")+dir+" LIMIT ?", first+1)
	rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var last cursor
	for rows.Next() {
		var r ViolationRow
		var gp int
		var at sql.NullTime
		var k string
		if err := rows.Scan(&r.CaseID, &gp, &r.Kind, &at, &r.Owner, &r.OwnerName, &r.BusinessUnit, &k); err != nil {
			return nil, err
		}
		if len(out.Rows) == first {
			out.HasNextPage = true
			break
		}
		r.EnteredAt = at.Time.UTC()
		if gp < 0 || gp >= len(e.model.Stages) {
			return nil, fmt.Errorf("gate position %d does not match the model (refresh needed?)", gp)
		}
		r.Gate = e.model.Stages[gp].ID
		out.Rows = append(out.Rows, r)
		last = cursor{At: r.EnteredAt, Case: r.CaseID, Gate: gp + 1, Order: o.id(), Key: k}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out.Rows) > 0 {
		out.EndCursor = encodeCursor(last)
	}
	return out, nil
}
