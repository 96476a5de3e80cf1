package kpi

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Why did it move (DESIGN §5): a KPI that is a weighted mean over the values g of a dimension,
// r = Σ w_g r_g with w_g the share of the denominator (a rate's trials, a mean's cases), changes
// between the previous period (0) and the current one (1) by exactly
//
//	r1 − r0 = Σ_g (w1_g − w0_g)·r0_g  +  Σ_g w1_g·(r1_g − r0_g)
//	          (mix: who is in the scope)   (rate: how each value did)
//
// A value absent from the previous period takes the previous total r0 as its r0_g (it enters at the
// average; how it differs from the average is rate); one absent now has no rate term.

// explainable maps a catalog KPI that splits this way to the breakdown it is read from.
var explainable = map[string]func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error){
	"lead_conversion": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) {
		return e.LeadConversion(ctx, s)
	},
	"win_rate": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) { return e.WinRate(ctx, s) },
	"adoption": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) {
		return pick(e.Adoption(ctx, s))(func(a Adoption) Value { return a.Rate })
	},
	"compliance": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) {
		return pick(e.Compliance(ctx, s))(func(c Compliance) Value { return c.Rate })
	},
	// Cycle times split on their means (medians do not add up; DESIGN §5).
	"sales_cycle": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) {
		return pick(e.CycleTimes(ctx, s))(func(c CycleTimes) Value { return c.Sales.Mean })
	},
}

// explainMedian maps a duration KPI split on its mean to its medians, which ExplainChange reports
// per value beside the split (each value's own change: medians do not add up).
var explainMedian = map[string]func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error){
	"sales_cycle": func(ctx context.Context, e *Engine, s Scope) (*Breakdown[Value], error) {
		return pick(e.CycleTimes(ctx, s))(func(c CycleTimes) Value { return c.Sales.P50 })
	},
}

// Explainable lists the catalog KPIs ExplainChange splits, sorted.
func Explainable() []string {
	out := make([]string, 0, len(explainable))
	for k := range explainable {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pick turns a family's breakdown into the breakdown of one of its values.
func pick[T any](bd *Breakdown[T], err error) func(func(T) Value) (*Breakdown[Value], error) {
	return func(f func(T) Value) (*Breakdown[Value], error) {
		if err != nil {
			return nil, err
		}
		out := &Breakdown[Value]{Complete: bd.Complete, Total: f(bd.Total)}
		for _, g := range bd.Groups {
			out.Groups = append(out.Groups, Group[Value]{Key: g.Key, Result: f(g.Result)})
		}
		return out, nil
	}
}

// Contribution is one dimension value's part of a KPI's change.
type Contribution struct {
	// Value is the dimension value ("" for cases without one).
	Value string `json:"value"`
	// Current and Previous are the value's KPI in each period, N and PreviousN what they are over.
	Current, Previous float64
	N, PreviousN      int64
	// Weight and PreviousWeight are the value's share of the scope's N in each period.
	Weight, PreviousWeight float64
	// Mix = (Weight − PreviousWeight) × the previous KPI used for it; Rate = Weight × (Current −
	// that previous KPI); Total = Mix + Rate.
	Mix, Rate, Total float64
	// Median and PreviousMedian are the value's own medians, for a duration split on its mean
	// (nil otherwise, or without cases on that side).
	Median, PreviousMedian *float64
}

// DimensionSplit is a KPI's change split over the values of one dimension; its Mix and Rate add up
// to the change, and its contributions are ranked by |Total|, largest first.
type DimensionSplit struct {
	Dimension     string         `json:"dimension"`
	Mix, Rate     float64        `json:"-"`
	Contributions []Contribution `json:"contributions"`
}

// Explanation is why a KPI moved between the previous period and the scope's.
type Explanation struct {
	KPI string `json:"kpi"`
	// Value is the KPI over the whole scope, with its previous period and change.
	Value  Value            `json:"value"`
	Splits []DimensionSplit `json:"splits"`
}

// ExplainChange splits the change of the catalog KPI name (one of Explainable) over the scope's
// previous period into mix and rate effects per value of each dimension in dims (DESIGN §5, why did
// it move). The scope's GroupBy and Grain are ignored.
func (e *Engine) ExplainChange(ctx context.Context, name string, s Scope, dims []string) (*Explanation, error) {
	read, ok := explainable[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q cannot be explained (want one of %s)", ErrBadScope, name, strings.Join(Explainable(), ", "))
	}
	if len(dims) == 0 {
		return nil, fmt.Errorf("%w: name at least one dimension to explain %s by", ErrBadScope, name)
	}
	s.GroupBy, s.Grain = nil, GrainNone
	out := &Explanation{KPI: name}
	for i, d := range dims {
		if slices.Contains(dims[:i], d) {
			return nil, fmt.Errorf("%w: dimension %q twice", ErrBadScope, d)
		}
		ds := s
		ds.GroupBy = []string{d}
		bd, err := read(ctx, e, ds)
		if err != nil {
			return nil, err
		}
		out.Value = bd.Total
		sp := split(d, bd)
		if med, ok := explainMedian[name]; ok {
			if err := medians(ctx, e, med, ds, &sp); err != nil {
				return nil, err
			}
		}
		out.Splits = append(out.Splits, sp)
	}
	return out, nil
}

// split is the mix/rate split of bd's total change over its groups (one dimension).
func split(dim string, bd *Breakdown[Value]) DimensionSplit {
	out := DimensionSplit{Dimension: dim, Contributions: []Contribution{}}
	var n1, n0 float64
	for _, g := range bd.Groups {
		n1 += float64(g.Result.N)
		n0 += float64(g.Result.PreviousN)
	}
	r0 := bd.Total.Previous
	for _, g := range bd.Groups {
		v := g.Result
		c := Contribution{Value: g.Key[dim], Current: v.Value, Previous: v.Previous, N: v.N, PreviousN: v.PreviousN}
		if n1 > 0 {
			c.Weight = float64(v.N) / n1
		}
		if n0 > 0 {
			c.PreviousWeight = float64(v.PreviousN) / n0
		}
		ref := v.Previous
		if v.PreviousN == 0 {
			ref = r0
		}
		c.Mix = (c.Weight - c.PreviousWeight) * ref
		if v.N > 0 {
			c.Rate = c.Weight * (v.Value - ref)
		}
		c.Total = c.Mix + c.Rate
		out.Mix += c.Mix
		out.Rate += c.Rate
		out.Contributions = append(out.Contributions, c)
	}
	sort.SliceStable(out.Contributions, func(i, j int) bool {
		return math.Abs(out.Contributions[i].Total) > math.Abs(out.Contributions[j].Total)
	})
	return out
}

// medians fills each contribution of sp with its value's own medians from med over scope s.
func medians(ctx context.Context, e *Engine, med func(context.Context, *Engine, Scope) (*Breakdown[Value], error), s Scope, sp *DimensionSplit) error {
	bd, err := med(ctx, e, s)
	if err != nil {
		return err
	}
	byValue := map[string]Value{}
	for _, g := range bd.Groups {
		byValue[g.Key[sp.Dimension]] = g.Result
	}
	for i := range sp.Contributions {
		c := &sp.Contributions[i]
		v, ok := byValue[c.Value]
		if ok && v.N > 0 {
			c.Median = &v.Value
		}
		if ok && v.PreviousN > 0 {
			c.PreviousMedian = &v.Previous
		}
	}
	return nil
}
