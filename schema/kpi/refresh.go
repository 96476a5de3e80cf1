package kpi

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/schema"
)

// maxStages bounds the model: sets of stages are BIGINT bitmasks (bit p = 1 << p) and the prefix
// mask of the furthest stage needs one spare bit.
const maxStages = 62

// bit returns the bitmask of stage position p as SQL text (a generated constant, never input).
func bit(p int) string { return fmt.Sprintf("%d", int64(1)<<p) }

// Refresh brings the derived tables up to date with the canonical tables inside tx, the ETL's
// transaction, so readers see the new facts exactly when the ETL commits. It rebuilds only the
// rows of the cases the ETL recorded in refresh_cases (incremental), or everything when
// data_version.refresh_full asks for it, when a recorded row belongs to no known case, or when the
// touched cases are more than fullRefreshShare of all cases; the ETL clears both after the commit.
//
// It is set-based SQL. A full refresh writes each derived table once with CREATE OR REPLACE TABLE
// … AS (columns and types as in migration 003): one window pass over the staged events ordered by
// (case, occurred_at, seq) gives each event its order and dwell (DESIGN §5.4); one GROUP BY (case,
// stage) gives the long kpi_case_stage table, whose rows kpi_case also carries per case as a list
// (stages, which the value stream reads without a join); one GROUP BY case gives the case-level
// facts, from which kpi_case (sorted by case start) and kpi_case_gate (sorted by entry of the
// guarded stage) are written. An incremental refresh runs the same statements over the touched cases' rows only,
// then deletes those cases' rows from each derived table and inserts the new ones. Stage
// positions, gates, branches and the branch rule come from the engine's model.
func (e *Engine) Refresh(ctx context.Context, tx *sql.Tx) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("kpi.Refresh: %w", err)
		}
	}()
	if len(e.model.Stages) > maxStages {
		return fmt.Errorf("%w: the model has %d stages, at most %d are supported", ErrConfig, len(e.model.Stages), maxStages)
	}
	full, touched, err := RefreshMode(ctx, tx)
	if err != nil {
		return err
	}
	if !full && touched == 0 {
		return nil
	}
	for _, s := range e.refreshSteps(!full) {
		start := time.Now()
		if _, err := tx.ExecContext(ctx, s.b.sb.String(), s.b.args...); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		e.opts.Logger.Debug("refresh step", "step", s.name, "full", full, "duration_seconds", time.Since(start).Seconds())
	}
	if full {
		if _, err := tx.ExecContext(ctx, "UPDATE data_version SET model_hash = ? WHERE id = 1", e.fingerprint); err != nil {
			return fmt.Errorf("model fingerprint: %w", err)
		}
	}
	return e.recluster(ctx, tx, full, touched)
}

// derivedVersion changes whenever the definitions Refresh writes change, so that warehouses built
// with older definitions are rebuilt (with the model, it makes up the fingerprint).
const derivedVersion = 3

// modelFingerprint identifies the model and definitions the derived tables are built with.
func modelFingerprint(m *schema.Model) string {
	b, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("kpi: model fingerprint: %v", err)) // plain data: cannot fail
	}
	sum := sha256.Sum256(fmt.Appendf(b, "|%d", derivedVersion))
	return hex.EncodeToString(sum[:])
}

// RebuildIfModelChanged asks for a full rebuild of the derived tables at the next refresh
// (refresh_full and refresh_pending, which the ETL's RefreshIfPending completes) when they were
// built with another process model or older definitions than the engine's. It reports whether it
// asked. Call it at start, before the ETL's RefreshIfPending.
func (e *Engine) RebuildIfModelChanged(ctx context.Context) (bool, error) {
	var stored sql.NullString
	var cases int64
	if err := e.db.Write.QueryRowContext(ctx, "SELECT model_hash, (SELECT count(*) FROM kpi_case) FROM data_version WHERE id = 1").Scan(&stored, &cases); err != nil {
		return false, fmt.Errorf("kpi.RebuildIfModelChanged: %w", err)
	}
	if stored.String == e.fingerprint || (!stored.Valid && cases == 0) {
		return false, nil
	}
	if _, err := e.db.Write.ExecContext(ctx, "UPDATE data_version SET refresh_full = true, refresh_pending = true WHERE id = 1"); err != nil {
		return false, fmt.Errorf("kpi.RebuildIfModelChanged: %w", err)
	}
	return true, nil
}

// fullRefreshShare: when more than this share of the cases is touched, one full rebuild is cheaper
// than deleting and inserting their rows.
const fullRefreshShare = 0.2

// RefreshMode reads what the ETL recorded in tx and says what Refresh will do: a full rebuild, or
// an incremental one over touched distinct cases (none: nothing to do).
func RefreshMode(ctx context.Context, tx *sql.Tx) (full bool, touched int64, err error) {
	var nulls, cases int64
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT refresh_full FROM data_version WHERE id = 1),
		(SELECT count(DISTINCT case_id) FROM refresh_cases), (SELECT count(*) FROM refresh_cases WHERE case_id IS NULL),
		(SELECT count(*) FROM kpi_case)`).Scan(&full, &touched, &nulls, &cases); err != nil {
		return false, 0, fmt.Errorf("refresh mode: %w", err)
	}
	full = full || nulls > 0 || float64(touched) > fullRefreshShare*float64(cases)
	return full, touched, nil
}

// touchedOnly is the condition restricting the case id col to the cases of an incremental
// refresh ("true" in a full one).
func touchedOnly(inc bool, col string) string {
	if !inc {
		return "true"
	}
	return col + " IN (SELECT case_id FROM _kpi_touched)"
}

// refreshStep is one statement of Refresh.
type refreshStep struct {
	name string
	b    *sqlBuilder
}

// refreshSteps returns Refresh's statements in order, for a full or an incremental (inc) refresh.
func (e *Engine) refreshSteps(inc bool) []refreshStep {
	in := func(col string) string { return touchedOnly(inc, col) }
	var steps []refreshStep
	if inc {
		steps = append(steps, refreshStep{"touched cases", (&sqlBuilder{}).add(
			"CREATE OR REPLACE TEMP TABLE _kpi_touched AS SELECT DISTINCT case_id FROM refresh_cases WHERE case_id IS NOT NULL")})
	}
	steps = append(steps,
		refreshStep{"event span", (&sqlBuilder{}).add(`CREATE OR REPLACE TEMP TABLE _kpi_span AS
SELECT case_id, min(occurred_at) AS started_at, max(occurred_at) AS last_at, CAST(count(*) AS INTEGER) AS events
FROM stage_events WHERE ` + in("case_id") + ` GROUP BY case_id`)},
		refreshStep{"staged events", e.eventsSQL(inc)},
		refreshStep{"case aggregates", e.aggSQL()},
	)
	// Sources of the per-row tables; in an incremental refresh restricted to the touched cases
	// before they are joined (and invoices and deliveries then need their contract's case).
	only := func(table, col string) string {
		if !inc {
			return table
		}
		return "(SELECT * FROM " + table + " WHERE " + in(col) + ")"
	}
	cases, contractJoin := only("kpi_case", "case_id"), "LEFT JOIN"
	if inc {
		contractJoin = "JOIN"
	}
	contracts := contractJoin + " " + only("contracts", "opportunity_id") + " k ON k.contract_id = "
	lead := `SELECT l.lead_id, coalesce(l.opportunity_id, l.lead_id) AS case_id, l.created_at,
       (l.opportunity_id IS NOT NULL OR l.converted_at IS NOT NULL OR l.status = 'converted') AS converted, ` + dimsOf("c") + `
FROM ` + only("leads", "coalesce(opportunity_id, lead_id)") + ` l LEFT JOIN ` + cases + ` c ON c.case_id = coalesce(l.opportunity_id, l.lead_id)`
	invoice := `SELECT i.invoice_id, k.opportunity_id AS case_id, i.issued_at, i.due_at, CAST(i.amount AS DOUBLE) AS amount, ` + dimsOf("c") + `
FROM invoices i ` + contracts + `i.contract_id
LEFT JOIN ` + cases + ` c ON c.case_id = k.opportunity_id`
	payment := `SELECT p.payment_id, p.invoice_id, p.received_at, CAST(p.amount AS DOUBLE) AS amount, i.issued_at, i.due_at, ` + dimsOf("i") + `
FROM payments p JOIN ` + only("kpi_invoice", "case_id") + ` i ON i.invoice_id = p.invoice_id`
	delivery := `SELECT d.delivery_id, k.opportunity_id AS case_id, d.accepted_at,
       coalesce(d.accepted_at <= k.committed_delivery_at, false) AS kept, ` + dimsOf("c") + `
FROM deliveries d ` + contracts + `d.contract_id
LEFT JOIN ` + cases + ` c ON c.case_id = k.opportunity_id
WHERE d.accepted_at IS NOT NULL`
	if !inc {
		return append(steps,
			refreshStep{"kpi_case_stage", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_case_stage AS " + e.caseStageSQL())},
			refreshStep{"case stages", (&sqlBuilder{}).add(caseStagesChunkedSQL())},
			refreshStep{"kpi_case", e.caseSQL("CREATE OR REPLACE TABLE kpi_case AS ", false)},
			refreshStep{"kpi_case_gate", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_case_gate AS " + e.gateSQL("kpi_case"))},
			refreshStep{"kpi_case columns", e.dropGateColumnsSQL()},
			refreshStep{"kpi_lead", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_lead AS " + lead)},
			refreshStep{"kpi_invoice", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_invoice AS " + invoice)},
			refreshStep{"kpi_payment", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_payment AS " + payment)},
			refreshStep{"kpi_delivery", (&sqlBuilder{}).add("CREATE OR REPLACE TABLE kpi_delivery AS " + delivery)},
			refreshStep{"cleanup", (&sqlBuilder{}).add("DROP TABLE _kpi_span; DROP TABLE _kpi_ev; DROP TABLE _kpi_agg; DROP TABLE _kpi_stages")},
		)
	}
	// Incremental: the touched cases' rows are deleted and written anew. kpi_case's new rows (with
	// the gate columns) go to a temp table first, from which kpi_case_gate's are written too.
	replace := func(table, byCase, sel string) string {
		return "DELETE FROM " + table + " WHERE " + in(byCase) + "; INSERT INTO " + table + " BY NAME " + sel
	}
	gateCols := e.gateColumns()
	caseCols := "*"
	if len(gateCols) > 0 {
		caseCols = "* EXCLUDE (" + strings.Join(gateCols, ", ") + ")"
	}
	return append(steps,
		refreshStep{"kpi_case_stage", (&sqlBuilder{}).add(replace("kpi_case_stage", "case_id", e.caseStageSQL()))},
		refreshStep{"touched kpi_case", e.caseSQL("CREATE OR REPLACE TEMP TABLE _kpi_case_new AS ", true)},
		refreshStep{"kpi_case", (&sqlBuilder{}).add(replace("kpi_case", "case_id", "SELECT "+caseCols+" FROM _kpi_case_new"))},
		refreshStep{"kpi_case_gate", (&sqlBuilder{}).add(replace("kpi_case_gate", "case_id", e.gateSQL("_kpi_case_new")))},
		refreshStep{"kpi_lead", (&sqlBuilder{}).add(replace("kpi_lead", "case_id", lead))},
		// Payments go with their invoice's case: delete them while kpi_invoice still says which.
		refreshStep{"kpi_payment delete", (&sqlBuilder{}).add("DELETE FROM kpi_payment WHERE invoice_id IN (SELECT invoice_id FROM " + only("kpi_invoice", "case_id") + ")")},
		refreshStep{"kpi_invoice", (&sqlBuilder{}).add(replace("kpi_invoice", "case_id", invoice))},
		refreshStep{"kpi_payment", (&sqlBuilder{}).add("INSERT INTO kpi_payment BY NAME " + payment)},
		refreshStep{"kpi_delivery", (&sqlBuilder{}).add(replace("kpi_delivery", "case_id", delivery))},
		refreshStep{"cleanup", (&sqlBuilder{}).add("DROP TABLE _kpi_span; DROP TABLE _kpi_ev; DROP TABLE _kpi_agg; DROP TABLE _kpi_case_new; DROP TABLE _kpi_touched")},
	)
}

// dims are the dimension columns of the derived tables, in schema order: the built-ins, then the
// attributes map custom dimensions read.
var dims = slices.Concat(schema.Dimensions, []string{schema.AttributesField})

// caseColumns are kpi_case's columns in migration order, each cast to its declared type.
var caseColumns = []string{"case_id", "business_unit", "region", "segment", "product_line", "channel", "owner", "team", "branch",
	"started_at", "last_at", "events", "first_staged_at", "last_staged_at", "reached",
	"CAST(furthest AS SMALLINT) AS furthest",
	"won_at", "delivered_at", "invoiced_at", "collected_at", "guarded_at", "violated",
	"CAST(expected_n AS SMALLINT) AS expected_n", "CAST(recorded_n AS SMALLINT) AS recorded_n",
	"tmpl_n", "tmpl_used", "team_due", "CAST(roles_n AS SMALLINT) AS roles_n", "variant", "status", "closed_at",
	schema.AttributesField, "stages"}

// dimsOf selects the dimension columns of alias a.
func dimsOf(a string) string {
	cols := make([]string, len(dims))
	for i, c := range dims {
		cols[i] = a + "." + c
	}
	return strings.Join(cols, ", ")
}

// eventsSQL builds _kpi_ev: the staged events (personal tier and unknown stages dropped) with their
// stage position, order within the case by (occurred_at, seq), dwell in microseconds (DESIGN §5.4)
// and the bitmask of the stages seen up to and including the event (which cycle spans it lies in).
func (e *Engine) eventsSQL(inc bool) *sqlBuilder {
	b := &sqlBuilder{}
	b.add(`CREATE OR REPLACE TEMP TABLE _kpi_ev AS
SELECT case_id, pos, occurred_at, pass, tmpl,
       row_number() OVER w AS ord,
       coalesce(epoch_us(lead(occurred_at) OVER w) - epoch_us(occurred_at), 0) AS dwell_us,
       bit_or(CAST(1 AS BIGINT) << pos) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS seen
FROM (SELECT case_id, occurred_at, seq, outcome = 'pass' AS pass, template_used AS tmpl, CASE stage`)
	for i, s := range e.model.Stages {
		b.add(fmt.Sprintf(" WHEN ? THEN %d", i), s.ID)
	}
	b.add(` END AS pos FROM stage_events WHERE stage IS NOT NULL AND ` + touchedOnly(inc, "case_id") + `)
WHERE pos IS NOT NULL
WINDOW w AS (PARTITION BY case_id ORDER BY occurred_at, seq)`)
	return b
}

// firstNeeded returns the stage positions whose first event time kpi_case needs (the cycles'
// milestones, guarded stages), and those whose first event order the gates need.
func (e *Engine) firstNeeded() (times, ords []int) {
	seenT, seenO := map[int]bool{}, map[int]bool{}
	addT := func(p int) {
		if p >= 0 && !seenT[p] {
			seenT[p] = true
			times = append(times, p)
		}
	}
	addO := func(p int) {
		if !seenO[p] {
			seenO[p] = true
			ords = append(ords, p)
		}
	}
	for _, m := range milestoneColumns {
		addT(e.model.MilestonePosition(m.ms))
	}
	for _, g := range e.gates {
		addT(g.guardPos)
		addO(g.guardPos)
		addO(g.pos)
	}
	sort.Ints(times)
	sort.Ints(ords)
	return times, ords
}

// caseStageSQL selects the rows of kpi_case_stage: per case and stage reached, the first event, the events and
// the stage time (DESIGN §5.4), and the same restricted to each cycle's span (migration 007): the
// events ordered at or after the cycle's start event and before its end event, whose dwells sum to
// end − start. An event lies in the span when the stages seen up to and including it hold the
// start stage (the sales cycle starts with the first event) and not yet the end stage.
func (e *Engine) caseStageSQL() string {
	var sb strings.Builder
	sb.WriteString(`SELECT case_id, CAST(pos AS SMALLINT) AS stage_pos, min(occurred_at) AS first_at,
       CAST(count(*) AS INTEGER) AS events, CAST(sum(dwell_us) / 1e6 AS DOUBLE) AS time_s`)
	for _, c := range cycleDefs {
		cond := e.cycleSpanSQL(c)
		fmt.Fprintf(&sb, `,
       CAST(count(*) FILTER (WHERE %s) AS INTEGER) AS %s_events,
       CAST(coalesce(sum(dwell_us) FILTER (WHERE %s), 0) / 1e6 AS DOUBLE) AS %s_s`, cond, c.col, cond, c.col)
	}
	sb.WriteString("\nFROM _kpi_ev GROUP BY case_id, pos")
	return sb.String()
}

// caseStagesSQL selects kpi_case.stages (migration 013) from kpi_case_stage, already written: per
// case, its rows as a list of structs sorted by stage position, so that a full and an incremental
// refresh write the same list, for the cases of kpi_case_stage's rows meeting where. An unordered
// list sorted afterwards is cheaper than an ordered aggregate; pos comes first, so structs sort by it.
func caseStagesSQL(where string) string {
	fields := []string{"'pos': stage_pos", "'first_at': first_at", "'events': events"}
	for _, c := range cycleDefs {
		fields = append(fields, fmt.Sprintf("'%s_events': %s_events", c.col, c.col), fmt.Sprintf("'%s_s': %s_s", c.col, c.col))
	}
	return "SELECT case_id, list_sort(list({" + strings.Join(fields, ", ") + "})) AS stages FROM kpi_case_stage WHERE " +
		where + " GROUP BY case_id"
}

// stagesChunks is the number of parts a full rebuild builds kpi_case.stages in (by a hash of the
// case id). A list aggregate's states are not spilled to disk: at 1M cases one aggregation over
// every case ran out of memory at 512 MiB (the default load share) and at 1.5 GiB; in eight parts
// the whole rebuild fits in 512 MiB (make bench's L data, 2026-12-03).
const stagesChunks = 8

// caseStagesChunkedSQL builds the temp table _kpi_stages (case_id, stages) of a full rebuild from
// kpi_case_stage, already written, in stagesChunks parts.
func caseStagesChunkedSQL() string {
	part := func(i int) string { return caseStagesSQL(fmt.Sprintf("hash(case_id) %% %d = %d", stagesChunks, i)) }
	q := "CREATE OR REPLACE TEMP TABLE _kpi_stages AS " + part(0)
	for i := 1; i < stagesChunks; i++ {
		q += ";\nINSERT INTO _kpi_stages " + part(i)
	}
	return q
}

// cycleSpanSQL is the condition on an event of _kpi_ev of lying in cycle c's span; "false" when the
// model does not mark one of the cycle's milestones. Bits are generated constants, never input.
func (e *Engine) cycleSpanSQL(c cycleDef) string {
	end := e.model.MilestonePosition(c.end)
	if end < 0 {
		return "false"
	}
	cond := fmt.Sprintf("seen & %s = 0", bit(end))
	if c.start != "" {
		start := e.model.MilestonePosition(c.start)
		if start < 0 {
			return "false"
		}
		cond = fmt.Sprintf("seen & %s <> 0 AND %s", bit(start), cond)
	}
	return cond
}

// aggSQL builds _kpi_agg: per case with staged events, the span of staged events, the reached
// stages, the first event time or order of the stages kpi_case needs, the first passing event of
// each gate, template counts and the variant. Positions are generated integers, never input.
func (e *Engine) aggSQL() *sqlBuilder {
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
	sb.WriteString(`CREATE OR REPLACE TEMP TABLE _kpi_agg AS SELECT case_id,
 min(occurred_at) AS first_staged_at, max(occurred_at) AS last_staged_at, max(pos) AS furthest,
 bit_or(CAST(1 AS BIGINT) << pos) AS reached,`)
	times, ords := e.firstNeeded()
	for _, p := range times {
		fmt.Fprintf(&sb, " min(occurred_at) FILTER (WHERE pos = %d) AS first_%d,", p, p)
	}
	for _, p := range ords {
		fmt.Fprintf(&sb, " min(ord) FILTER (WHERE pos = %d) AS ord_%d,", p, p)
	}
	for _, g := range e.gates {
		fmt.Fprintf(&sb, " min(ord) FILTER (WHERE pos = %d AND pass) AS pass_%d,", g.pos, g.pos)
	}
	fmt.Fprintf(&sb, " CAST(count(*) FILTER (WHERE %s) AS INTEGER) AS tmpl_n,", tmplCond)
	fmt.Fprintf(&sb, " CAST(count(*) FILTER (WHERE %s AND tmpl) AS INTEGER) AS tmpl_used,", tmplCond)
	// The variant: positions in event order. An unordered list sorted afterwards is much cheaper
	// than an ordered aggregate; ord·64 + pos sorts by ord (pos < 64).
	sb.WriteString(" array_to_string(list_transform(list_sort(list(ord * 64 + pos)), lambda x: x % 64), '.') AS variant")
	sb.WriteString(" FROM _kpi_ev GROUP BY case_id")
	return (&sqlBuilder{}).add(sb.String())
}

// caseSQL is create (e.g. CREATE OR REPLACE TABLE kpi_case AS) followed by the rows of kpi_case,
// sorted by case start (NULL last); with inc, only the touched cases' (the events' are already
// restricted in _kpi_span and _kpi_agg). Every case known from events, leads or opportunities, with its attributes
// (opportunity first, else its earliest lead; the attributes map is the earliest lead's overridden
// per key by the opportunity's), the owner's team, the branch (the opportunity's, else
// the model's rule as a CASE with bound values), the staged facts of _kpi_agg, gate outcomes
// (DESIGN §5.6) and adoption (§5.5), which need the branch. Each gate's entry and outcome are
// extra columns gate_at_<pos> and gate_kind_<pos> until kpi_case_gate is written from them.
func (e *Engine) caseSQL(create string, inc bool) *sqlBuilder {
	opps := "opportunities"
	if inc {
		opps = "(SELECT * FROM opportunities WHERE " + touchedOnly(inc, "opportunity_id") + ")"
	}
	// A full rebuild reads the stage lists from _kpi_stages (caseStagesChunkedSQL).
	stages := "_kpi_stages"
	if inc {
		stages = "(" + caseStagesSQL(touchedOnly(true, "case_id")) + ")"
	}
	// lc picks each case's earliest lead by rowid and joins its row back: an arg_min over a struct
	// holding the attributes map keeps states DuckDB cannot spill (at 1M cases kpi_case then needed
	// more than 1 GiB; with the rowid it is built within 512 MiB).
	b := &sqlBuilder{}
	b.add(create + `
WITH lc AS (
    SELECT f.case_id, l.business_unit, l.region, l.segment, l.channel, l.owner_id, l.attributes FROM (
        SELECT coalesce(opportunity_id, lead_id) AS case_id, arg_min(rowid, created_at) AS r
        FROM leads WHERE ` + touchedOnly(inc, "coalesce(opportunity_id, lead_id)") + ` GROUP BY ALL) f
    JOIN leads l ON l.rowid = f.r
), ids AS (
    SELECT case_id FROM _kpi_span
    UNION SELECT opportunity_id FROM opportunities WHERE ` + touchedOnly(inc, "opportunity_id") + `
    UNION SELECT case_id FROM lc
), x AS (
    SELECT ids.case_id,
           coalesce(o.business_unit, lc.business_unit) AS business_unit,
           coalesce(o.region, lc.region) AS region,
           coalesce(o.segment, lc.segment) AS segment,
           o.product_line, lc.channel,
           coalesce(o.owner_id, lc.owner_id) AS owner,
           emp.team, o.branch, o.status, o.closed_at,
           map_concat(lc.attributes, o.attributes) AS attributes
    FROM ids
    LEFT JOIN ` + opps + ` o ON o.opportunity_id = ids.case_id
    LEFT JOIN lc ON lc.case_id = ids.case_id
    LEFT JOIN employees emp ON emp.employee_id = coalesce(o.owner_id, lc.owner_id)
), a AS (
    SELECT x.* REPLACE (coalesce(x.branch, `)
	b.add(e.branchRuleSQL(b))
	b.add(`) AS branch) FROM x
), c AS (
SELECT a.*, sp.started_at, sp.last_at, sp.events, g.first_staged_at, g.last_staged_at, g.reached, g.furthest,
       g.tmpl_n, g.tmpl_used, g.variant, coalesce(r.roles_n, 0) AS roles_n, st.stages`)
	first := func(p int) string {
		if p < 0 {
			return "NULL::TIMESTAMP"
		}
		return fmt.Sprintf("g.first_%d", p)
	}
	for _, m := range milestoneColumns {
		b.add(fmt.Sprintf(", %s AS %s", first(e.model.MilestonePosition(m.ms)), m.col))
	}
	// Gates: entry of the guarded stage and the outcome, when the gate applies to the branch.
	for _, g := range e.gates {
		cond, args := expectedSQL(g.branches)
		b.add(fmt.Sprintf(", CASE WHEN %s THEN g.first_%d END AS gate_at_%d", cond, g.guardPos, g.pos), args...)
		b.add(fmt.Sprintf(`, CASE WHEN %s AND g.ord_%d IS NOT NULL THEN CASE
    WHEN g.pass_%d < g.ord_%d THEN 'compliant'
    WHEN g.pass_%d IS NOT NULL THEN 'late'
    WHEN g.ord_%d < g.ord_%d THEN 'failed'
    ELSE 'missing' END END AS gate_kind_%d`, cond, g.guardPos, g.pos, g.guardPos, g.pos, g.pos, g.guardPos, g.pos), args...)
	}
	// The non-gate stages expected on the case's branch, as a bitmask.
	var base int64
	for i, s := range e.model.Stages {
		if s.Gate == nil && len(s.Branches) == 0 {
			base |= int64(1) << i
		}
	}
	b.add(fmt.Sprintf(", CAST(%d", base))
	for i, s := range e.model.Stages {
		if s.Gate != nil || len(s.Branches) == 0 {
			continue
		}
		cond, args := expectedSQL(s.Branches)
		b.add(fmt.Sprintf(" + CASE WHEN %s THEN %s ELSE 0 END", cond, bit(i)), args...)
	}
	b.add(` AS BIGINT) AS expected_mask
FROM a
LEFT JOIN _kpi_span sp ON sp.case_id = a.case_id
LEFT JOIN _kpi_agg g ON g.case_id = a.case_id
LEFT JOIN (SELECT opportunity_id AS case_id, CAST(count(DISTINCT role) AS INTEGER) AS roles_n
           FROM assignments WHERE ` + touchedOnly(inc, "opportunity_id") + ` GROUP BY ALL) r ON r.case_id = a.case_id
LEFT JOIN ` + stages + ` st ON st.case_id = a.case_id
), f AS (
SELECT c.*,`)
	// Adoption (DESIGN §5.5): of the expected stages up to the furthest reached, those recorded.
	b.add(` CASE WHEN furthest IS NOT NULL THEN bit_count(expected_mask & ((CAST(1 AS BIGINT) << (furthest + 1)) - 1)) END AS expected_n,
 CASE WHEN furthest IS NOT NULL THEN bit_count(expected_mask & reached & ((CAST(1 AS BIGINT) << (furthest + 1)) - 1)) END AS recorded_n`)
	// Iron triangle (DESIGN §5.5): the team is due once a case is past the model's stage for it.
	if p, ok := e.stagePos[e.model.IronTriangleAfter]; ok {
		b.add(fmt.Sprintf(", furthest > %d AS team_due", p))
	} else {
		b.add(", NULL::BOOLEAN AS team_due")
	}
	// Compliance overall: first entry of any guarded stage, and a violation at any gate.
	if len(e.gates) == 0 {
		b.add(", NULL::TIMESTAMP AS guarded_at, NULL::BOOLEAN AS violated")
	} else {
		var at, viol []string
		for _, g := range e.gates {
			at = append(at, fmt.Sprintf("gate_at_%d", g.pos))
			viol = append(viol, fmt.Sprintf("coalesce(gate_kind_%d <> 'compliant', false)", g.pos))
		}
		b.add(fmt.Sprintf(", least(%s) AS guarded_at, CASE WHEN least(%s) IS NOT NULL THEN %s END AS violated",
			strings.Join(at, ", "), strings.Join(at, ", "), strings.Join(viol, " OR ")))
	}
	b.add(" FROM c)\nSELECT " + strings.Join(caseColumns, ", "))
	for _, g := range e.gates {
		b.add(fmt.Sprintf(", gate_at_%d, gate_kind_%d", g.pos, g.pos))
	}
	b.add(" FROM f ORDER BY started_at NULLS LAST, case_id")
	return b
}

// gateColumns are kpi_case's per-gate columns (gate_at_<pos>, gate_kind_<pos>) until
// kpi_case_gate is written from them.
func (e *Engine) gateColumns() []string {
	var cols []string
	for _, g := range e.gates {
		cols = append(cols, fmt.Sprintf("gate_at_%d", g.pos), fmt.Sprintf("gate_kind_%d", g.pos))
	}
	return cols
}

// dropGateColumnsSQL drops kpi_case's per-gate columns once kpi_case_gate holds them, leaving the
// columns of migration 003.
func (e *Engine) dropGateColumnsSQL() *sqlBuilder {
	b := &sqlBuilder{}
	b.add("SELECT 1")
	for _, c := range e.gateColumns() {
		b.add("; ALTER TABLE kpi_case DROP COLUMN " + c)
	}
	return b
}

// gateSQL selects the rows of kpi_case_gate from the cases of table (kpi_case with its gate
// columns): one row per case and applicable gate whose guarded stage it entered.
func (e *Engine) gateSQL(table string) string {
	if len(e.gates) == 0 {
		return `SELECT case_id, CAST(0 AS SMALLINT) AS gate_pos, started_at AS entered_at, 'compliant' AS kind, ` +
			dimsOf("c") + " FROM " + table + " c WHERE false"
	}
	var sb strings.Builder
	sb.WriteString("SELECT * FROM (")
	for i, g := range e.gates {
		if i > 0 {
			sb.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&sb, `SELECT case_id, CAST(%d AS SMALLINT) AS gate_pos, gate_at_%d AS entered_at, gate_kind_%d AS kind, %s
FROM %s c WHERE gate_kind_%d IS NOT NULL`, g.pos, g.pos, g.pos, dimsOf("c"), table, g.pos)
	}
	sb.WriteString(") ORDER BY entered_at, case_id, gate_pos")
	return sb.String()
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
	whens := 0
	for _, br := range e.model.Branches {
		if len(br.When) == 0 {
			continue
		}
		whens++
		sb.WriteString(" WHEN ")
		first := true
		for _, dim := range sortedKeys(br.When) {
			if !first {
				sb.WriteString(" AND ")
			}
			first = false
			col := strings.Replace(builtinColumns[dim], "c.", "x.", 1)
			sb.WriteString("coalesce(" + col + ", '') IN (" + placeholders(len(br.When[dim])) + ")")
			for _, v := range br.When[dim] {
				b.args = append(b.args, v)
			}
		}
		sb.WriteString(" THEN ?")
		b.args = append(b.args, br.ID)
	}
	b.args = append(b.args, e.model.Branches[0].ID)
	if whens == 0 { // no branch has a rule: every case takes the first (a CASE needs a WHEN)
		return "CAST(? AS VARCHAR)"
	}
	sb.WriteString(" ELSE ? END")
	return sb.String()
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
