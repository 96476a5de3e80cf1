package graph

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ltc-analytics/ltc/graph/model"
	"github.com/ltc-analytics/ltc/schema"
	"github.com/ltc-analytics/ltc/schema/kpi"
)

// dimensionName maps the API's Dimension enum to the engine's dimension names: each enum value is
// its schema.Dimensions name in upper case (TestDimensionsFromCatalog ties the two lists).
var dimensionName = func() map[model.Dimension]string {
	m := make(map[model.Dimension]string, len(schema.Dimensions))
	for _, d := range schema.Dimensions {
		m[model.Dimension(strings.ToUpper(d))] = d
	}
	return m
}()

// dimensionEnum is the inverse of dimensionName.
var dimensionEnum = func() map[string]model.Dimension {
	m := make(map[string]model.Dimension, len(dimensionName))
	for k, v := range dimensionName {
		m[v] = k
	}
	return m
}()

// grainOf maps the API's Grain enum to the engine's.
var grainOf = map[model.Grain]kpi.Grain{
	model.GrainDay: kpi.GrainDay, model.GrainWeek: kpi.GrainWeek, model.GrainMonth: kpi.GrainMonth,
	model.GrainQuarter: kpi.GrainQuarter, model.GrainYear: kpi.GrainYear, model.GrainSprint: kpi.GrainSprint,
}

// cycleOf maps the API's Cycle enum to the engine's.
var cycleOf = map[model.Cycle]kpi.Cycle{
	model.CycleSales: kpi.CycleSales, model.CycleDelivery: kpi.CycleDelivery, model.CycleCash: kpi.CycleCash,
	model.CycleLeadToCash: kpi.CycleLeadToCash,
}

// cycleEnum is the inverse of cycleOf.
var cycleEnum = func() map[kpi.Cycle]model.Cycle {
	m := make(map[kpi.Cycle]model.Cycle, len(cycleOf))
	for k, v := range cycleOf {
		m[v] = k
	}
	return m
}()

// kpiScope converts a ScopeInput; the engine validates the result (ErrBadScope → BAD_SCOPE). Enum
// values gqlgen let through are always in the maps; an unmapped one is reported as BAD_SCOPE too.
func kpiScope(in model.ScopeInput) (kpi.Scope, error) {
	s := kpi.Scope{From: in.From, To: in.To}
	// Both are non-null in the schema, so a zero time was sent as 0001-01-01T00:00:00Z: out of range,
	// not missing (the engine would say "required").
	if in.From.IsZero() || in.To.IsZero() {
		return s, Errorf(CodeBadScope, "from %s, to %s: out of range (0001-01-01T00:00:00Z is not a usable time)",
			in.From.UTC().Format(time.RFC3339), in.To.UTC().Format(time.RFC3339))
	}
	if len(in.Filters) > 0 {
		s.Filters = make(map[string][]string, len(in.Filters))
		for _, f := range in.Filters {
			d, err := filterDimension(f)
			if err != nil {
				return s, err
			}
			if _, dup := s.Filters[d]; dup {
				return s, Errorf(CodeBadScope, "dimension %s filtered twice; list every allowed value in one filter", d)
			}
			s.Filters[d] = f.Values
		}
	}
	for _, g := range in.GroupBy {
		d, ok := dimensionName[g]
		if !ok {
			return s, Errorf(CodeBadScope, "unknown dimension %q", g)
		}
		s.GroupBy = append(s.GroupBy, d)
	}
	// Names are the engine's to check (built-ins and custom dimensions; BAD_SCOPE lists them).
	s.GroupBy = append(s.GroupBy, in.GroupByNames...)
	if in.Grain != nil {
		g, ok := grainOf[*in.Grain]
		if !ok {
			return s, Errorf(CodeBadScope, "unknown grain %q", *in.Grain)
		}
		s.Grain = g
	}
	return s, nil
}

// filterDimension returns the dimension name of a filter, given as exactly one of dimension (the
// enum) and name (checked by the engine).
func filterDimension(f *model.FilterInput) (string, error) {
	switch {
	case f.Dimension != nil && f.Name != nil:
		return "", Errorf(CodeBadScope, "filter: give dimension (%s) or name (%q), not both", *f.Dimension, *f.Name)
	case f.Name != nil:
		return *f.Name, nil
	case f.Dimension != nil:
		d, ok := dimensionName[*f.Dimension]
		if !ok {
			return "", Errorf(CodeBadScope, "unknown dimension %q", *f.Dimension)
		}
		return d, nil
	}
	return "", Errorf(CodeBadScope, "filter: give dimension or name")
}

// dimensionEnumOf returns the Dimension enum value of a built-in dimension, nil for a custom one.
func dimensionEnumOf(name string) *model.Dimension {
	if e, ok := dimensionEnum[name]; ok {
		return &e
	}
	return nil
}

// maxWindowDays is the largest funnel window: a century (the engine's timestamps overflow far beyond).
const maxWindowDays = 36500

// maxPage is the largest page (and variant list) the API serves, as the engine.
const maxPage = 1000

// kpiPageSize validates a KPI list's first/top argument: 1..1000, BAD_ARGUMENT otherwise.
func kpiPageSize(name string, v *int, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if *v < 1 || *v > maxPage {
		return 0, Errorf(CodeBadArgument, "%s must be between 1 and %d, got %d", name, maxPage, *v)
	}
	return *v, nil
}

// cursorError turns the engine's bad-cursor error into a BAD_ARGUMENT that names the argument.
func cursorError(err error, after *string) error {
	if errors.Is(err, kpi.ErrBadCursor) {
		return Errorf(CodeBadArgument, "after: %q is not a cursor of this listing", deref(after))
	}
	return err
}

// engine returns the KPI engine, or an INTERNAL error when the resolver was built without one.
func (r *Resolver) engine() (*kpi.Engine, error) {
	if r.kpi == nil {
		return nil, errors.New("graph: no KPI engine configured (Deps.KPI)")
	}
	return r.kpi, nil
}

func kpiValue(v kpi.Value) *model.KpiValue {
	return &model.KpiValue{Value: v.Value, Previous: v.Previous, Change: v.Change, RelChange: v.RelChange,
		N: int(v.N), PreviousN: int(v.PreviousN), Low: v.Low, High: v.High, LowSample: v.LowSample}
}

// groupKey lists a group's key in groupBy order.
func groupKey(groupBy []string, key map[string]string) []*model.DimensionValue {
	out := make([]*model.DimensionValue, len(groupBy))
	for i, d := range groupBy {
		out[i] = &model.DimensionValue{Dimension: dimensionEnumOf(d), Name: d, Value: key[d]}
	}
	return out
}

// breakdown converts a kpi.Breakdown into the API's total/groups/series shape with conv.
func breakdown[T, R, G, P any](s kpi.Scope, bd *kpi.Breakdown[T], conv func(*T) R,
	group func(key []*model.DimensionValue, r R, series []P) G, point func(p *kpi.Point[T], r R) P) (R, []G, []P) {
	points := func(ps []kpi.Point[T]) []P {
		out := make([]P, len(ps))
		for i := range ps {
			out[i] = point(&ps[i], conv(&ps[i].Result))
		}
		return out
	}
	groups := make([]G, len(bd.Groups))
	for i := range bd.Groups {
		g := &bd.Groups[i]
		groups[i] = group(groupKey(s.GroupBy, g.Key), conv(&g.Result), points(g.Series))
	}
	return conv(&bd.Total), groups, points(bd.Series)
}

func valueBreakdown(s kpi.Scope, bd *kpi.Breakdown[kpi.Value]) *model.ValueBreakdown {
	t, g, p := breakdown(s, bd, func(v *kpi.Value) *model.KpiValue { return kpiValue(*v) },
		func(k []*model.DimensionValue, r *model.KpiValue, ps []*model.ValuePoint) *model.ValueGroup {
			return &model.ValueGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.Value], r *model.KpiValue) *model.ValuePoint {
			return &model.ValuePoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.ValueBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func funnel(f *kpi.Funnel) *model.Funnel {
	out := &model.Funnel{Stages: make([]*model.FunnelStage, len(f.Stages))}
	for i, s := range f.Stages {
		out.Stages[i] = &model.FunnelStage{Stage: s.Stage, Reached: kpiValue(s.Reached),
			FromPrevious: kpiValue(s.FromPrevious), FromTop: kpiValue(s.FromTop)}
	}
	return out
}

func funnelBreakdown(s kpi.Scope, bd *kpi.Breakdown[kpi.Funnel]) *model.FunnelBreakdown {
	t, g, p := breakdown(s, bd, funnel,
		func(k []*model.DimensionValue, r *model.Funnel, ps []*model.FunnelPoint) *model.FunnelGroup {
			return &model.FunnelGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.Funnel], r *model.Funnel) *model.FunnelPoint {
			return &model.FunnelPoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.FunnelBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func duration(d kpi.Duration) *model.DurationStats {
	return &model.DurationStats{P50Days: kpiValue(d.P50), P90Days: kpiValue(d.P90), MeanDays: kpiValue(d.Mean)}
}

// cycleTimes converts cycle times; a cycle whose milestones e's model does not mark carries its
// NOT_CONFIGURED error instead (reported when the field is asked for).
func cycleTimes(e *kpi.Engine) func(c *kpi.CycleTimes) *model.CycleTimes {
	return func(c *kpi.CycleTimes) *model.CycleTimes {
		out := &model.CycleTimes{
			SalesErr: e.CycleConfigured(kpi.CycleSales), DeliveryErr: e.CycleConfigured(kpi.CycleDelivery),
			CashErr: e.CycleConfigured(kpi.CycleCash), LeadToCashErr: e.CycleConfigured(kpi.CycleLeadToCash),
		}
		if out.SalesErr == nil {
			out.SalesStats = duration(c.Sales)
		}
		if out.DeliveryErr == nil {
			out.DeliveryStats = duration(c.Delivery)
		}
		if out.CashErr == nil {
			out.CashStats = duration(c.Cash)
		}
		if out.LeadToCashErr == nil {
			out.LeadToCashStats = duration(c.LeadToCash)
		}
		return out
	}
}

func cycleTimesBreakdown(e *kpi.Engine, s kpi.Scope, bd *kpi.Breakdown[kpi.CycleTimes]) *model.CycleTimesBreakdown {
	t, g, p := breakdown(s, bd, cycleTimes(e),
		func(k []*model.DimensionValue, r *model.CycleTimes, ps []*model.CycleTimesPoint) *model.CycleTimesGroup {
			return &model.CycleTimesGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.CycleTimes], r *model.CycleTimes) *model.CycleTimesPoint {
			return &model.CycleTimesPoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.CycleTimesBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func valueStream(v *kpi.ValueStream) *model.ValueStream {
	out := &model.ValueStream{Cycle: cycleEnum[v.Cycle], Stages: make([]*model.StageStream, len(v.Stages)), Bottleneck: nonEmpty(v.Bottleneck),
		Cases: kpiValue(v.Cases)}
	for i, s := range v.Stages {
		out.Stages[i] = &model.StageStream{Stage: s.Stage, Share: kpiValue(s.Share), MedianDays: kpiValue(s.MedianDays),
			P90Days: kpiValue(s.P90Days), Rework: kpiValue(s.Rework), Cases: kpiValue(s.Cases)}
	}
	return out
}

func valueStreamBreakdown(s kpi.Scope, bd *kpi.Breakdown[kpi.ValueStream]) *model.ValueStreamBreakdown {
	t, g, p := breakdown(s, bd, valueStream,
		func(k []*model.DimensionValue, r *model.ValueStream, ps []*model.ValueStreamPoint) *model.ValueStreamGroup {
			return &model.ValueStreamGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.ValueStream], r *model.ValueStream) *model.ValueStreamPoint {
			return &model.ValueStreamPoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.ValueStreamBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func variants(v *kpi.Variants) *model.Variants {
	out := &model.Variants{Distinct: int(v.Distinct), Cases: int(v.Cases), Top: make([]*model.Variant, len(v.Top))}
	for i, x := range v.Top {
		out.Top[i] = &model.Variant{Stages: x.Stages, Cases: int(x.Cases), MedianDays: x.MedianDays}
	}
	return out
}

// adoption converts adoption; iron-triangle coverage carries its NOT_CONFIGURED error when e's
// model does not say when the team is due.
func adoption(e *kpi.Engine) func(a *kpi.Adoption) *model.Adoption {
	return func(a *kpi.Adoption) *model.Adoption {
		out := &model.Adoption{Rate: kpiValue(a.Rate), Coverage: kpiValue(a.Coverage), Template: kpiValue(a.Template),
			IronTriangleErr: e.IronTriangleConfigured()}
		if out.IronTriangleErr == nil {
			out.IronTriangleVal = kpiValue(a.IronTriangle)
		}
		return out
	}
}

func adoptionBreakdown(e *kpi.Engine, s kpi.Scope, bd *kpi.Breakdown[kpi.Adoption]) *model.AdoptionBreakdown {
	t, g, p := breakdown(s, bd, adoption(e),
		func(k []*model.DimensionValue, r *model.Adoption, ps []*model.AdoptionPoint) *model.AdoptionGroup {
			return &model.AdoptionGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.Adoption], r *model.Adoption) *model.AdoptionPoint {
			return &model.AdoptionPoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.AdoptionBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func compliance(c *kpi.Compliance) *model.Compliance {
	out := &model.Compliance{Gates: make([]*model.GateCompliance, len(c.Gates)), Rate: kpiValue(c.Rate),
		PromiseKept: kpiValue(c.PromiseKept)}
	for i, g := range c.Gates {
		out.Gates[i] = &model.GateCompliance{Gate: g.Gate, Guards: g.Guards, Entered: kpiValue(g.Entered),
			Compliant: kpiValue(g.Compliant), Rate: kpiValue(g.Rate), Missing: kpiValue(g.Missing),
			Failed: kpiValue(g.Failed), Late: kpiValue(g.Late)}
	}
	return out
}

func complianceBreakdown(s kpi.Scope, bd *kpi.Breakdown[kpi.Compliance]) *model.ComplianceBreakdown {
	t, g, p := breakdown(s, bd, compliance,
		func(k []*model.DimensionValue, r *model.Compliance, ps []*model.CompliancePoint) *model.ComplianceGroup {
			return &model.ComplianceGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.Compliance], r *model.Compliance) *model.CompliancePoint {
			return &model.CompliancePoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.ComplianceBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

func violationConnection(p *kpi.Page[kpi.ViolationRow]) *model.ViolationConnection {
	out := &model.ViolationConnection{Nodes: make([]*model.Violation, len(p.Rows)), PageInfo: pageInfo(p.HasNextPage, p.EndCursor)}
	for i, r := range p.Rows {
		out.Nodes[i] = &model.Violation{CaseID: r.CaseID, Gate: r.Gate, Kind: model.ViolationKind(strings.ToUpper(r.Kind)),
			EnteredAt: r.EnteredAt, Owner: nonEmpty(r.Owner), OwnerName: nonEmpty(r.OwnerName), BusinessUnit: nonEmpty(r.BusinessUnit)}
	}
	return out
}

func cash(c *kpi.Cash) *model.Cash {
	return &model.Cash{Billed: kpiValue(c.Billed), Collected: kpiValue(c.Collected), Receivables: kpiValue(c.Receivables),
		OverdueShare: kpiValue(c.OverdueShare), DsoDays: kpiValue(c.DSO), CollectionRate: kpiValue(c.CollectionRate),
		Ageing: &model.ReceivablesAgeing{NotDue: kpiValue(c.Ageing.NotDue), PastDue0To30: kpiValue(c.Ageing.PastDue0To30),
			PastDue31To60: kpiValue(c.Ageing.PastDue31To60), PastDue61To90: kpiValue(c.Ageing.PastDue61To90),
			PastDueOver90: kpiValue(c.Ageing.PastDueOver90)}}
}

func cashBreakdown(s kpi.Scope, bd *kpi.Breakdown[kpi.Cash]) *model.CashBreakdown {
	t, g, p := breakdown(s, bd, cash,
		func(k []*model.DimensionValue, r *model.Cash, ps []*model.CashPoint) *model.CashGroup {
			return &model.CashGroup{Key: k, Result: r, Series: ps}
		},
		func(p *kpi.Point[kpi.Cash], r *model.Cash) *model.CashPoint {
			return &model.CashPoint{Start: p.Start, End: p.End, Complete: p.Complete, Result: r}
		})
	return &model.CashBreakdown{Complete: bd.Complete, Total: t, Groups: g, Series: p}
}

// caseFilter converts the API's case filter.
func caseFilter(f *model.CaseFilter) kpi.CaseFilter {
	if f == nil {
		return kpi.CaseFilter{}
	}
	return kpi.CaseFilter{StageReached: deref(f.StageReached), GateViolated: deref(f.GateViolated), Adopted: f.Adopted}
}

func caseConnection(p *kpi.Page[kpi.CaseRow]) *model.CaseConnection {
	out := &model.CaseConnection{Nodes: make([]*model.Case, len(p.Rows)), PageInfo: pageInfo(p.HasNextPage, p.EndCursor)}
	for i, r := range p.Rows {
		out.Nodes[i] = &model.Case{ID: r.CaseID, BusinessUnit: nonEmpty(r.BusinessUnit), Region: nonEmpty(r.Region),
			Segment: nonEmpty(r.Segment), ProductLine: nonEmpty(r.ProductLine), Channel: nonEmpty(r.Channel),
			Owner: nonEmpty(r.Owner), OwnerName: nonEmpty(r.OwnerName), Team: nonEmpty(r.Team), Branch: nonEmpty(r.Branch), StartedAt: r.StartedAt,
			LastAt: r.LastAt, Events: int(r.Events), FurthestStage: nonEmpty(r.Furthest), Adopted: r.Adopted,
			Status: nonEmpty(r.Status), ClosedAt: r.ClosedAt}
	}
	return out
}

func timeline(evs []kpi.Event) []*model.Event {
	out := make([]*model.Event, len(evs))
	for i, e := range evs {
		out[i] = &model.Event{Stage: nonEmpty(e.Stage), Activity: e.Activity, OccurredAt: e.OccurredAt,
			ActorID: nonEmpty(e.ActorID), ActorRole: nonEmpty(e.ActorRole), Outcome: nonEmpty(e.Outcome),
			TemplateUsed: e.TemplateUsed, Source: e.Source, Seq: int(e.Seq)}
	}
	return out
}

// prepare returns the engine and the converted scope of a KPI field.
func (r *Resolver) prepare(ctx context.Context, in model.ScopeInput) (*kpi.Engine, kpi.Scope, error) {
	e, err := r.engine()
	if err != nil {
		return nil, kpi.Scope{}, err
	}
	s, err := kpiScope(in)
	if err != nil {
		return e, s, err
	}
	unknown, err := e.UnknownValues(ctx, s.Filters)
	if err != nil {
		return e, s, err
	}
	for _, u := range unknown {
		warn(ctx, "filter %s: no case has the value %q (values: %s)", u.Dimension, u.Value, u.Known)
	}
	return e, s, nil
}
