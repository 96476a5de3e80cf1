package kpi

import (
	"fmt"
	"math"
	"time"
)

// Value is a KPI value beside the previous period of equal length.
// Change and RelChange are nil when undefined (a side without data, or a zero previous value for
// RelChange); no field is ever NaN or infinite. An empty scope gives zeros with N = 0.
type Value struct {
	Value    float64  `json:"value"`
	Previous float64  `json:"previous"`
	Change   *float64 `json:"change"`
	// RelChange is Change / |Previous|.
	RelChange *float64 `json:"relChange"`
	// N and PreviousN count what the value is computed over (cases, leads, invoices…), per side.
	N         int64 `json:"n"`
	PreviousN int64 `json:"previousN"`
	// Low and High bound a 95% interval of the value: the Wilson score interval of a proportion
	// (rates of cases, leads, deals, events) and the order-statistics interval of a median (see
	// medianSQL; nil below MedianIntervalMinN); nil for other values and for an undefined rate.
	Low  *float64 `json:"low"`
	High *float64 `json:"high"`
	// LowSample is N below the engine's minimum n (Options.MinSample, default MinSample): too few to
	// read a change into (drawn faint, never alerted on).
	LowSample bool `json:"lowSample"`
}

// MinSample is the default n below which a value is flagged LowSample (DESIGN §5, reading a number
// honestly); Options.MinSample changes it per engine.
const MinSample = 30

// wilson returns the 95% Wilson score interval of the proportion p over n trials.
func wilson(p float64, n int64) (lo, hi float64) {
	const z = 1.959963984540054
	nf := float64(n)
	d := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / d
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / d
	return math.Max(0, c-h), math.Min(1, c+h)
}

// MedianIntervalMinN is the smallest n whose median gets an order-statistics 95% interval. Below
// it even the widest interval the sample offers, its range x(1)…x(n), covers the median with less
// than 95% probability (1 − 2·0.5ⁿ: 93.75% at n = 5, 96.9% at n = 6), so the interval does not exist.
const MedianIntervalMinN = 6

// medianRankHalfWidth is z/2 for a 95% interval (1.96 / 2): the order-statistics ranks of a
// median's interval lie about z·√n/2 on either side of n/2.
const medianRankHalfWidth = 0.98

// medianSQL returns the aggregates of the median of the non-NULL values of expr d with its 95%
// distribution-free (order-statistics) interval, in this order: the median (quantile_cont, linear
// interpolation between the closest ranks), then x(j) and x(k) of the values sorted
// x(1) ≤ … ≤ x(n), with j = ⌊n/2 − 0.98·√n⌋ and k = ⌈1 + n/2 + 0.98·√n⌉, each clamped to 1..n.
// Read them with median. d is a constant SQL expression built by this package. The bounds index
// the sorted list of the group's values (one list aggregate, bound once by DuckDB), because
// DuckDB's quantile_disc wants a constant probability while these ranks depend on each group's n.
// The list costs more per value than quantile_cont's state: reading the median and the 90th
// percentile from it too measured slower on BenchmarkCycleTimes' data than this.
func medianSQL(d string) []string {
	l, n := fmt.Sprintf("list_sort(list(%s))", d), fmt.Sprintf("count(%s)", d)
	at := func(rank string) string {
		return fmt.Sprintf("%s[CAST(greatest(1, least(%s, %s)) AS BIGINT)]", l, n, rank)
	}
	return []string{
		fmt.Sprintf("quantile_cont(%s, 0.5)", d),
		at(fmt.Sprintf("floor(%s / 2 - %g * sqrt(%s))", n, medianRankHalfWidth, n)),
		at(fmt.Sprintf("ceil(1 + %s / 2 + %g * sqrt(%s))", n, medianRankHalfWidth, n)),
	}
}

// side is one period's value: ok is false when it is undefined (e.g. a rate over nothing); prop
// marks a proportion of n trials (it gets a Wilson interval); ordered marks a median with its
// order-statistics interval [lo, hi].
type side struct {
	v       float64
	n       int64
	ok      bool
	prop    bool
	ordered bool
	lo, hi  float64
}

// count is a side whose value is always defined (a count or a sum).
func count(v float64, n int64) side { return side{v: Finite(v), n: n, ok: true} }

// ratio is num/den, undefined when den is 0; n is the number of things in the denominator.
func ratio(num, den float64, n int64) side {
	if den == 0 {
		return side{n: n}
	}
	return side{v: Finite(num / den), n: n, ok: true}
}

// proportion is num/den for num of den things having a property (a binomial proportion, n = den):
// a ratio with a Wilson interval.
func proportion(num, den float64) side {
	s := ratio(num, den, int64(den))
	s.prop = true
	return s
}

// stat is a statistic over n things, undefined when n is 0.
func stat(v float64, n int64) side { return side{v: Finite(v), n: n, ok: n > 0} }

// median is the median over n things read from medianSQL's aggregates m (median, x(j), x(k)),
// with its order-statistics interval from n = MedianIntervalMinN on.
func median(m []float64, n int64) side {
	s := stat(m[0], n)
	if n >= MedianIntervalMinN {
		s.ordered, s.lo, s.hi = true, Finite(m[1]), Finite(m[2])
	}
	return s
}

func pair(cur, prev side) Value {
	out := Value{Value: cur.v, Previous: prev.v, N: cur.n, PreviousN: prev.n, LowSample: cur.n < MinSample}
	if cur.prop && cur.ok && cur.n > 0 {
		lo, hi := wilson(cur.v, cur.n)
		out.Low, out.High = &lo, &hi
	}
	if cur.ordered {
		lo, hi := cur.lo, cur.hi
		out.Low, out.High = &lo, &hi
	}
	if cur.ok && prev.ok {
		c := Finite(cur.v - prev.v)
		out.Change = &c
		if prev.v != 0 {
			r := Finite(c / math.Abs(prev.v))
			out.RelChange = &r
		}
	}
	return out
}

// Finite returns v, or 0 when v is NaN or infinite (JSON has no NaN and a rate over nothing reads 0).
func Finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// Group is a result for one combination of GroupBy values (dimension → value; "" for a missing value).
type Group[T any] struct {
	Key    map[string]string `json:"key"`
	Result T                 `json:"result"`
	// Series is the group's own time series when the scope has a grain (same buckets as the
	// Breakdown's), for the families that compute one (every family built on the shared runner, and Cash).
	Series []Point[T] `json:"series,omitempty"`
}

// Point is a result for one time bucket starting at Start (UTC); its Previous values are those of the
// bucket before.
type Point[T any] struct {
	Start time.Time `json:"start"`
	// End is the bucket's end (exclusive), capped at the scope's To.
	End time.Time `json:"end"`
	// Complete is false while the bucket has not ended (End after the engine's now): its value is
	// partial, not a drop (DESIGN §5, reading a number honestly).
	Complete bool `json:"complete"`
	Result   T    `json:"result"`
}

// Breakdown is a KPI result over the whole scope, per group (when Scope.GroupBy is set) and per
// time bucket (when Scope.Grain is set). Groups are sorted by key, points by time.
type Breakdown[T any] struct {
	// Complete is false while the scope's period has not ended (To after the engine's now).
	Complete bool       `json:"complete"`
	Total    T          `json:"total"`
	Groups   []Group[T] `json:"groups,omitempty"`
	Series   []Point[T] `json:"series,omitempty"`
}
