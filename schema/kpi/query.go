package kpi

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// aggQuery is one set of aggregates over a derived table (alias c), restricted to rows whose
// timestamp ts lies in the scope's current or previous period. The runner evaluates them per period,
// per GroupBy combination, per time bucket and per combination × bucket in one scan, with GROUPING
// SETS.
type aggQuery struct {
	table     string   // derived table, e.g. "kpi_case" (a constant, never input)
	from      string   // optional FROM clause instead of "table c", e.g. a join (a constant)
	fromArgs  []any    // bound values of from
	sel       string   // optional select list of the rows instead of "c.*" (a constant)
	key       string   // optional expression (an integer) every grouping set is also grouped by
	ts        string   // the timestamp the range applies to, an expression over c (a constant)
	where     string   // optional extra row condition over c
	whereArgs []any    // its bound values
	aggs      []string // aggregate expressions over c (constants built by this package)
	aggArgs   []any    // bound values of aggs, in order
}

// cell holds one row of aggregate values; NULL aggregates read as 0.
type cell []float64

// aggResult is what the runner returns: the whole scope, its groups and its buckets, per period.
type aggResult struct {
	cur, prev cell
	groups    []groupCell
	series    map[time.Time]cell // bucket start → values over both periods
	width     int
}

type groupCell struct {
	key       []string
	cur, prev cell
	series    map[time.Time]cell // the group's buckets, when the scope has a grain
}

// sqlBuilder accumulates SQL text and its bound values in textual order.
type sqlBuilder struct {
	sb   strings.Builder
	args []any
}

func (b *sqlBuilder) add(sql string, args ...any) *sqlBuilder {
	b.sb.WriteString(sql)
	b.args = append(b.args, args...)
	return b
}

// ts casts a time to a bound UTC TIMESTAMP parameter's value.
func ts(t time.Time) any { return t.UTC() }

// bucketExpr returns the SQL bucket start of expr for grain g and its bound values.
func (e *Engine) bucketExpr(g Grain, expr string) (string, []any) {
	if g == GrainSprint {
		return fmt.Sprintf("time_bucket(to_days(CAST(? AS INTEGER)), %s, CAST(? AS TIMESTAMP))", expr),
			[]any{e.opts.SprintDays, ts(e.anchor())}
	}
	return fmt.Sprintf("date_trunc('%s', %s)", grainTrunc[g], expr), nil
}

// filterSQL returns " AND c.dim IN (?, …)" for each filter, in dimension order, then the row scope of
// ctx (RowScope) in the same form, and the values to bind. s must be valid (Engine.check).
func (e *Engine) filterSQL(ctx context.Context, s Scope) (string, []any) {
	dims := make([]string, 0, len(s.Filters))
	for d, vs := range s.Filters {
		if len(vs) > 0 {
			dims = append(dims, d)
		}
	}
	sort.Strings(dims)
	var b strings.Builder
	var args []any
	for _, d := range dims {
		b.WriteString(" AND ")
		b.WriteString(e.dimCol[d])
		b.WriteString(" IN (")
		for i, v := range s.Filters[d] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, v)
		}
		b.WriteString(")")
	}
	r, rargs := rowSQL(ctx)
	b.WriteString(r)
	return b.String(), append(args, rargs...)
}

// run evaluates q over scope s.
func (e *Engine) run(ctx context.Context, s Scope, q aggQuery) (*aggResult, error) {
	rs, err := e.runKeyed(ctx, s, q)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// runKeyed evaluates q over scope s, per value of q.key (0 only, when q has no key). A key value
// without rows has no result; newResult makes an empty one.
func (e *Engine) runKeyed(ctx context.Context, s Scope, q aggQuery) (map[int64]*aggResult, error) {
	nd := len(s.GroupBy)
	series := s.Grain != GrainNone
	keyed := q.key != ""
	from, sel := q.from, q.sel
	if from == "" {
		from = q.table + " c"
	}
	if sel == "" {
		sel = "c.*"
	}
	gs := func(cols string) string { // a grouping set, with the key first
		if keyed {
			if cols == "" {
				return "(_k)"
			}
			return "(_k, " + cols + ")"
		}
		return "(" + cols + ")"
	}
	b := &sqlBuilder{}
	if keyed {
		b.add("SELECT _k, ")
	} else {
		b.add("SELECT 0, ")
	}
	b.add("GROUPING(_p)")
	if series {
		b.add(", GROUPING(_b)")
	} else {
		b.add(", 1")
	}
	if nd > 0 {
		b.add(", GROUPING(_d0)")
	} else {
		b.add(", 1")
	}
	b.add(", _p")
	if series {
		b.add(", _b")
	} else {
		b.add(", NULL::TIMESTAMP")
	}
	for i := 0; i < nd; i++ {
		b.add(fmt.Sprintf(", _d%d", i))
	}
	for _, a := range q.aggs {
		b.add(", CAST((" + a + ") AS DOUBLE)")
	}
	b.args = append(b.args, q.aggArgs...)
	b.add(" FROM (SELECT "+sel+", CASE WHEN "+q.ts+" >= CAST(? AS TIMESTAMP) THEN 0 ELSE 1 END AS _p", ts(s.From))
	if keyed {
		b.add(", " + q.key + " AS _k")
	}
	if series {
		expr, args := e.bucketExpr(s.Grain, q.ts)
		b.add(", "+expr+" AS _b", args...)
	}
	for i, d := range s.GroupBy {
		b.add(fmt.Sprintf(", %s AS _d%d", e.dimCol[d], i))
	}
	b.add(" FROM "+from, q.fromArgs...)
	b.add(" WHERE "+q.ts+" >= CAST(? AS TIMESTAMP) AND "+q.ts+" < CAST(? AS TIMESTAMP)", ts(s.previous()), ts(s.To))
	f, fargs := e.filterSQL(ctx, s)
	b.add(f, fargs...)
	if q.where != "" {
		b.add(" AND ("+q.where+")", q.whereArgs...)
	}
	b.add(") c GROUP BY ")
	if !series && nd == 0 {
		if keyed {
			b.add("_k, ")
		}
		b.add("_p")
	} else {
		b.add("GROUPING SETS (" + gs("_p"))
		if nd > 0 {
			d := "_p"
			for i := 0; i < nd; i++ {
				d += fmt.Sprintf(", _d%d", i)
			}
			b.add(", " + gs(d))
		}
		if series {
			b.add(", " + gs("_b"))
			if nd > 0 {
				d := "_b"
				for i := 0; i < nd; i++ {
					d += fmt.Sprintf(", _d%d", i)
				}
				b.add(", " + gs(d))
			}
		}
		b.add(")")
	}
	rows, err := e.db.Read.QueryContext(ctx, b.sb.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q.table, err)
	}
	defer rows.Close()
	na := len(q.aggs)
	outs := map[int64]*aggResult{}
	groupsOf := map[int64]map[string]*groupCell{}
	var k, gP, gB, gD int64
	var p sql.NullInt64
	var bucket sql.NullTime
	dims := make([]sql.NullString, nd)
	vals := make([]sql.NullFloat64, na)
	dest := []any{&k, &gP, &gB, &gD, &p, &bucket}
	for i := range dims {
		dest = append(dest, &dims[i])
	}
	for i := range vals {
		dest = append(dest, &vals[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("query %s: scan: %w", q.table, err)
		}
		out := outs[k]
		if out == nil {
			out = newResult(na)
			outs[k] = out
			groupsOf[k] = map[string]*groupCell{}
		}
		groups := groupsOf[k]
		c := make(cell, na)
		for i, v := range vals {
			if v.Valid {
				c[i] = v.Float64
			}
		}
		switch {
		case gP == 0 && gD == 1: // (_p)
			if p.Int64 == 0 {
				out.cur = c
			} else {
				out.prev = c
			}
		case gP == 0: // (_p, dims…)
			g := group(groups, dims, na)
			if p.Int64 == 0 {
				g.cur = c
			} else {
				g.prev = c
			}
		case gB == 0 && gD == 0: // (_b, dims…)
			group(groups, dims, na).series[bucket.Time.UTC()] = c
		case gB == 0: // (_b)
			out.series[bucket.Time.UTC()] = c
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query %s: %w", q.table, err)
	}
	if outs[0] == nil && !keyed {
		outs[0] = newResult(na)
	}
	for k, out := range outs {
		for _, g := range groupsOf[k] {
			out.groups = append(out.groups, *g)
		}
		sort.Slice(out.groups, func(i, j int) bool {
			return strings.Join(out.groups[i].key, "\x00") < strings.Join(out.groups[j].key, "\x00")
		})
	}
	return outs, nil
}

// group returns the group of the dimension values dims in groups, adding an empty one of width na.
func group(groups map[string]*groupCell, dims []sql.NullString, na int) *groupCell {
	key := make([]string, len(dims))
	for i, d := range dims {
		key[i] = d.String
	}
	k := strings.Join(key, "\x00")
	g := groups[k]
	if g == nil {
		g = &groupCell{key: key, cur: make(cell, na), prev: make(cell, na), series: map[time.Time]cell{}}
		groups[k] = g
	}
	return g
}

// newResult returns an empty result of width na (every cell reads as zeros).
func newResult(na int) *aggResult {
	return &aggResult{cur: make(cell, na), prev: make(cell, na), series: map[time.Time]cell{}, width: na}
}

// assemble turns the results of several queries over one scope into a Breakdown, building each
// result from every query's current and previous cells (a missing cell reads as zeros). Groups are
// the union of the queries' groups; a series point's previous cells are the bucket before's.
func assemble[T any](e *Engine, s Scope, rs []*aggResult, build func(cur, prev []cell) T) (*Breakdown[T], error) {
	n := len(rs)
	cur, prev := make([]cell, n), make([]cell, n)
	for i, r := range rs {
		cur[i], prev[i] = r.cur, r.prev
	}
	out := &Breakdown[T]{Total: build(cur, prev), Complete: e.ended(s.To)}
	type gk struct {
		key       []string
		cur, prev []cell
		series    []map[time.Time]cell // per query
	}
	groups := map[string]*gk{}
	var order []string
	for i, r := range rs {
		for _, g := range r.groups {
			k := strings.Join(g.key, "\x00")
			x := groups[k]
			if x == nil {
				x = &gk{key: g.key, cur: make([]cell, n), prev: make([]cell, n), series: make([]map[time.Time]cell, n)}
				for j, r := range rs {
					x.cur[j], x.prev[j] = make(cell, r.width), make(cell, r.width)
				}
				groups[k] = x
				order = append(order, k)
			}
			x.cur[i], x.prev[i], x.series[i] = g.cur, g.prev, g.series
		}
	}
	var bs []time.Time
	if s.Grain != GrainNone {
		var err error
		if bs, err = e.buckets(s.Grain, s.From, s.To); err != nil {
			return nil, err
		}
	}
	// seriesOf builds a series from each query's buckets (a missing bucket reads as zeros).
	seriesOf := func(buckets []map[time.Time]cell) []Point[T] {
		at := func(t time.Time) []cell {
			cs := make([]cell, n)
			for i, r := range rs {
				if c, ok := buckets[i][t]; ok {
					cs[i] = c
				} else {
					cs[i] = make(cell, r.width)
				}
			}
			return cs
		}
		var out []Point[T]
		for _, t := range bs {
			out = append(out, point(e, s, t, build(at(t), at(e.prevBucket(s.Grain, t)))))
		}
		return out
	}
	sort.Strings(order)
	for _, k := range order {
		x := groups[k]
		key := make(map[string]string, len(x.key))
		for i, d := range s.GroupBy {
			key[d] = x.key[i]
		}
		out.Groups = append(out.Groups, Group[T]{Key: key, Result: build(x.cur, x.prev), Series: seriesOf(x.series)})
	}
	total := make([]map[time.Time]cell, n)
	for i, r := range rs {
		total[i] = r.series
	}
	out.Series = seriesOf(total)
	return out, nil
}

// ended reports whether a period ending at end has ended by the engine's now.
func (e *Engine) ended(end time.Time) bool { return !end.After(e.opts.Now()) }

// point is the series point of the bucket of s starting at t, with its end and completeness.
func point[T any](e *Engine, s Scope, t time.Time, r T) Point[T] {
	end := e.nextBucket(s.Grain, t)
	if end.After(s.To) {
		end = s.To
	}
	return Point[T]{Start: t, End: end, Complete: e.ended(end), Result: r}
}

// multi runs several queries over one scope concurrently and assembles their results.
func multi[T any](ctx context.Context, e *Engine, s Scope, qs []aggQuery, build func(cur, prev []cell) T) (*Breakdown[T], error) {
	rs := make([]*aggResult, len(qs))
	g, gctx := errgroup.WithContext(ctx)
	for i, q := range qs {
		g.Go(func() error {
			r, err := e.run(gctx, s, q)
			rs[i] = r
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return assemble(e, s, rs, build)
}

// each runs one query and assembles it; the common path of the single-query families.
func each[T any](ctx context.Context, e *Engine, s Scope, q aggQuery, build func(cur, prev cell) T) (*Breakdown[T], error) {
	r, err := e.run(ctx, s, q)
	if err != nil {
		return nil, err
	}
	return assemble(e, s, []*aggResult{r}, func(cur, prev []cell) T { return build(cur[0], prev[0]) })
}

// perStage runs a case-level query top and queries keyed by stage position concurrently, and
// assembles them with build over flat cells: top's values, then for each stage in model order
// each keyed query's values in order (zeros for a stage without rows).
func perStage[T any](ctx context.Context, e *Engine, s Scope, top aggQuery, keyed []aggQuery, build func(cur, prev cell) T) (*Breakdown[T], error) {
	var topR *aggResult
	byStage := make([]map[int64]*aggResult, len(keyed))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { topR, err = e.run(gctx, s, top); return err })
	for i, q := range keyed {
		g.Go(func() (err error) { byStage[i], err = e.runKeyed(gctx, s, q); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	rs := []*aggResult{topR}
	for p := range e.model.Stages {
		for i, q := range keyed {
			r := byStage[i][int64(p)]
			if r == nil {
				r = newResult(len(q.aggs))
			}
			rs = append(rs, r)
		}
	}
	flat := func(cs []cell) cell {
		var out cell
		for _, c := range cs {
			out = append(out, c...)
		}
		return out
	}
	return assemble(e, s, rs, func(cur, prev []cell) T { return build(flat(cur), flat(prev)) })
}
