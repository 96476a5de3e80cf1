package kpi

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// derivedTables are the tables Refresh rewrites (created by migration 003_kpi.sql).
var derivedTables = []string{"kpi_case", "kpi_lead", "kpi_invoice", "kpi_payment", "kpi_delivery"}

// Refresh rebuilds the derived tables from the canonical tables inside tx, the ETL's transaction,
// so readers see the new facts exactly when the ETL commits. It is set-based SQL: one window
// function over the staged events (order and dwell, DESIGN §5.4) and one aggregation per case.
// Stage positions, gates, branches and the branch rule come from the engine's model.
func (e *Engine) Refresh(ctx context.Context, tx *sql.Tx) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("kpi.Refresh: %w", err)
		}
	}()
	for _, t := range derivedTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return fmt.Errorf("clear %s: %w", t, err)
		}
	}
	steps := []struct {
		name string
		b    *sqlBuilder
	}{
		{"case attributes", e.attrSQL()},
		{"staged events", e.eventsSQL()},
		{"case aggregates", e.aggSQL()},
		{"kpi_case", e.caseSQL()},
		{"kpi_lead", (&sqlBuilder{}).add(`INSERT INTO kpi_lead BY NAME
SELECT l.lead_id, coalesce(l.opportunity_id, l.lead_id) AS case_id, l.created_at,
       l.opportunity_id IS NOT NULL AS converted, ` + dimsOf("c") + `
FROM leads l LEFT JOIN kpi_case c ON c.case_id = coalesce(l.opportunity_id, l.lead_id)`)},
		{"kpi_invoice", (&sqlBuilder{}).add(`INSERT INTO kpi_invoice BY NAME
SELECT i.invoice_id, k.opportunity_id AS case_id, i.issued_at, i.due_at, CAST(i.amount AS DOUBLE) AS amount, ` + dimsOf("c") + `
FROM invoices i LEFT JOIN contracts k ON k.contract_id = i.contract_id
LEFT JOIN kpi_case c ON c.case_id = k.opportunity_id`)},
		{"kpi_payment", (&sqlBuilder{}).add(`INSERT INTO kpi_payment BY NAME
SELECT p.payment_id, p.invoice_id, p.received_at, CAST(p.amount AS DOUBLE) AS amount, i.issued_at, i.due_at, ` + dimsOf("i") + `
FROM payments p JOIN kpi_invoice i ON i.invoice_id = p.invoice_id`)},
		{"kpi_delivery", (&sqlBuilder{}).add(`INSERT INTO kpi_delivery BY NAME
SELECT d.delivery_id, k.opportunity_id AS case_id, d.accepted_at,
       coalesce(d.accepted_at <= k.committed_delivery_at, false) AS kept, ` + dimsOf("c") + `
FROM deliveries d LEFT JOIN contracts k ON k.contract_id = d.contract_id
LEFT JOIN kpi_case c ON c.case_id = k.opportunity_id
WHERE d.accepted_at IS NOT NULL`)},
		{"cleanup", (&sqlBuilder{}).add("DROP TABLE _kpi_attr; DROP TABLE _kpi_ev; DROP TABLE _kpi_agg")},
	}
	for _, s := range steps {
		if _, err := tx.ExecContext(ctx, s.b.sb.String(), s.b.args...); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// dimsOf selects the dimension columns of alias a.
func dimsOf(a string) string {
	cols := []string{"business_unit", "region", "segment", "product_line", "channel", "owner", "team", "branch"}
	for i, c := range cols {
		cols[i] = a + "." + c
	}
	return strings.Join(cols, ", ")
}

// attrSQL builds _kpi_attr: every case known from events, leads or opportunities, with its
// attributes (opportunity first, else its earliest lead), the owner's team and the branch
// (the opportunity's, else the model's rule as a CASE with bound values).
func (e *Engine) attrSQL() *sqlBuilder {
	b := &sqlBuilder{}
	b.add(`CREATE OR REPLACE TEMP TABLE _kpi_attr AS
WITH lc AS (
    SELECT coalesce(opportunity_id, lead_id) AS case_id,
           arg_min(business_unit, created_at) AS business_unit, arg_min(region, created_at) AS region,
           arg_min(segment, created_at) AS segment, arg_min(channel, created_at) AS channel,
           arg_min(owner_id, created_at) AS owner_id
    FROM leads GROUP BY ALL
), ids AS (
    SELECT DISTINCT case_id FROM stage_events
    UNION SELECT opportunity_id FROM opportunities
    UNION SELECT case_id FROM lc
), x AS (
    SELECT ids.case_id,
           coalesce(o.business_unit, lc.business_unit) AS business_unit,
           coalesce(o.region, lc.region) AS region,
           coalesce(o.segment, lc.segment) AS segment,
           o.product_line, lc.channel,
           coalesce(o.owner_id, lc.owner_id) AS owner,
           emp.team, o.branch, o.status, o.closed_at
    FROM ids
    LEFT JOIN opportunities o ON o.opportunity_id = ids.case_id
    LEFT JOIN lc ON lc.case_id = ids.case_id
    LEFT JOIN employees emp ON emp.employee_id = coalesce(o.owner_id, lc.owner_id)
)
SELECT x.* REPLACE (coalesce(x.branch, `)
	b.add(e.branchRuleSQL(b))
	b.add(`) AS branch) FROM x`)
	return b
}

// branchRuleSQL translates schema.Model.BranchFor into a CASE over the columns of x: the first
// branch whose every `when` dimension matches, else the first branch. Missing attributes compare
// as "" as in BranchFor.
func (e *Engine) branchRuleSQL(b *sqlBuilder) string {
	if len(e.model.Branches) == 0 {
		return "NULL::VARCHAR"
	}
	var sb strings.Builder
	sb.WriteString("CASE")
	for _, br := range e.model.Branches {
		if len(br.When) == 0 {
			continue
		}
		sb.WriteString(" WHEN ")
		first := true
		for _, dim := range sortedKeys(br.When) {
			if !first {
				sb.WriteString(" AND ")
			}
			first = false
			col := strings.Replace(dimColumn[dim], "c.", "x.", 1)
			sb.WriteString("coalesce(" + col + ", '') IN (" + placeholders(len(br.When[dim])) + ")")
			for _, v := range br.When[dim] {
				b.args = append(b.args, v)
			}
		}
		sb.WriteString(" THEN ?")
		b.args = append(b.args, br.ID)
	}
	sb.WriteString(" ELSE ? END")
	b.args = append(b.args, e.model.Branches[0].ID)
	return sb.String()
}

// eventsSQL builds _kpi_ev: the staged events (personal tier and unknown stages dropped) with their
// stage position, order within the case by (occurred_at, seq) and dwell in seconds (DESIGN §5.4).
func (e *Engine) eventsSQL() *sqlBuilder {
	b := &sqlBuilder{}
	b.add(`CREATE OR REPLACE TEMP TABLE _kpi_ev AS
SELECT case_id, pos, occurred_at, outcome, template_used,
       row_number() OVER w AS ord,
       coalesce(epoch_us(lead(occurred_at) OVER w) - epoch_us(occurred_at), 0) / 1e6 AS dwell
FROM (SELECT case_id, occurred_at, seq, outcome, template_used, CASE stage`)
	for i, s := range e.model.Stages {
		b.add(fmt.Sprintf(" WHEN ? THEN %d", i), s.ID)
	}
	b.add(` END AS pos FROM stage_events WHERE stage IS NOT NULL)
WHERE pos IS NOT NULL
WINDOW w AS (PARTITION BY case_id ORDER BY occurred_at, seq)`)
	return b
}

// aggSQL builds _kpi_agg: per case, the per-stage lists and the per-gate orders.
// List positions are generated integers (stage positions), never input.
func (e *Engine) aggSQL() *sqlBuilder {
	n := len(e.model.Stages)
	list := func(f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	var tmpl []string
	for i, s := range e.model.Stages {
		if s.Template {
			tmpl = append(tmpl, fmt.Sprint(i))
		}
	}
	tmplCond := "false"
	if len(tmpl) > 0 {
		tmplCond = "pos IN (" + strings.Join(tmpl, ", ") + ")"
	}
	var sb strings.Builder
	sb.WriteString("CREATE OR REPLACE TEMP TABLE _kpi_agg AS SELECT case_id,")
	sb.WriteString(" min(occurred_at) AS first_staged_at, max(occurred_at) AS last_staged_at, max(pos) AS furthest,")
	sb.WriteString(" " + list(func(i int) string { return fmt.Sprintf("min(occurred_at) FILTER (WHERE pos = %d)", i) }) + " AS s_first,")
	sb.WriteString(" " + list(func(i int) string { return fmt.Sprintf("CAST(count(*) FILTER (WHERE pos = %d) AS INTEGER)", i) }) + " AS s_n,")
	sb.WriteString(" " + list(func(i int) string { return fmt.Sprintf("coalesce(sum(dwell) FILTER (WHERE pos = %d), 0)", i) }) + " AS s_time,")
	for _, g := range e.gates {
		fmt.Fprintf(&sb, " min(ord) FILTER (WHERE pos = %d) AS entry_ord_%d,", g.guardPos, g.idx)
		fmt.Fprintf(&sb, " min(ord) FILTER (WHERE pos = %d) AS gate_ord_%d,", g.pos, g.idx)
		fmt.Fprintf(&sb, " min(ord) FILTER (WHERE pos = %d AND outcome = 'pass') AS pass_ord_%d,", g.pos, g.idx)
	}
	fmt.Fprintf(&sb, " CAST(count(*) FILTER (WHERE %s) AS INTEGER) AS tmpl_n,", tmplCond)
	fmt.Fprintf(&sb, " CAST(count(*) FILTER (WHERE %s AND template_used) AS INTEGER) AS tmpl_used,", tmplCond)
	sb.WriteString(" string_agg(CAST(pos AS VARCHAR), '.' ORDER BY ord) AS variant")
	sb.WriteString(" FROM _kpi_ev GROUP BY case_id")
	return (&sqlBuilder{}).add(sb.String())
}

// caseSQL builds kpi_case from _kpi_attr, _kpi_agg, the raw event span and the assignments:
// gate outcomes (DESIGN §5.6) and adoption (§5.5) need the case's branch, so they are computed here.
func (e *Engine) caseSQL() *sqlBuilder {
	b := &sqlBuilder{}
	b.add(`INSERT INTO kpi_case BY NAME
SELECT a.case_id, a.business_unit, a.region, a.segment, a.product_line, a.channel, a.owner, a.team, a.branch,
       ev.started_at, ev.last_at, ev.events, g.first_staged_at, g.last_staged_at,
       g.s_first, g.s_n, g.s_time, g.furthest, g.tmpl_n, g.tmpl_used, g.variant,
       coalesce(r.roles_n, 0) AS roles_n, a.status, a.closed_at,
       g.s_first[`)
	b.add(fmt.Sprintf("%d] AS completed_at", e.last+1))
	// Gates: entry time of the guarded stage and the outcome, when the gate is expected on the branch.
	if len(e.gates) == 0 {
		b.add(", []::TIMESTAMP[] AS g_entered, []::VARCHAR[] AS g_kind")
	} else {
		b.add(", [")
		for i, g := range e.gates {
			if i > 0 {
				b.add(", ")
			}
			cond, args := expectedSQL(g.branches)
			b.add(fmt.Sprintf("CASE WHEN %s AND g.entry_ord_%d IS NOT NULL THEN g.s_first[%d] END",
				cond, g.idx, g.guardPos+1), args...)
		}
		b.add("] AS g_entered, [")
		for i, g := range e.gates {
			if i > 0 {
				b.add(", ")
			}
			k := g.idx
			cond, args := expectedSQL(g.branches)
			b.add(fmt.Sprintf(`CASE WHEN %s AND g.entry_ord_%d IS NOT NULL THEN CASE
    WHEN g.pass_ord_%d < g.entry_ord_%d THEN 'compliant'
    WHEN g.pass_ord_%d IS NOT NULL THEN 'late'
    WHEN g.gate_ord_%d < g.entry_ord_%d THEN 'failed'
    ELSE 'missing' END END`, cond, k, k, k, k, k, k), args...)
		}
		b.add("] AS g_kind")
	}
	// Adoption: non-gate stages expected on the branch up to the furthest stage reached, and of
	// those the ones recorded.
	for _, col := range []string{"expected_n", "recorded_n"} {
		b.add(", CASE WHEN g.furthest IS NOT NULL THEN 0")
		for i, s := range e.model.Stages {
			if s.Gate != nil {
				continue
			}
			cond, args := expectedSQL(s.Branches)
			if col == "recorded_n" {
				cond += fmt.Sprintf(" AND g.s_n[%d] > 0", i+1)
			}
			b.add(fmt.Sprintf(" + CASE WHEN g.furthest >= %d AND %s THEN 1 ELSE 0 END", i, cond), args...)
		}
		b.add(" END AS " + col)
	}
	if p, ok := e.stagePos["solution_design"]; ok {
		b.add(fmt.Sprintf(", g.furthest > %d AS past_design", p))
	} else {
		b.add(", NULL::BOOLEAN AS past_design")
	}
	b.add(`
FROM _kpi_attr a
LEFT JOIN (SELECT case_id, min(occurred_at) AS started_at, max(occurred_at) AS last_at,
                  CAST(count(*) AS INTEGER) AS events
           FROM stage_events GROUP BY case_id) ev ON ev.case_id = a.case_id
LEFT JOIN _kpi_agg g ON g.case_id = a.case_id
LEFT JOIN (SELECT opportunity_id AS case_id, CAST(count(DISTINCT role) AS INTEGER) AS roles_n
           FROM assignments GROUP BY ALL) r ON r.case_id = a.case_id`)
	return b
}

// expectedSQL returns a condition on a.branch for a stage expected on branches (all when empty)
// and the branch ids to bind.
func expectedSQL(branches []string) (string, []any) {
	if len(branches) == 0 {
		return "true", nil
	}
	args := make([]any, len(branches))
	for i, br := range branches {
		args[i] = br
	}
	return "coalesce(a.branch IN (" + placeholders(len(branches)) + "), false)", args
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
