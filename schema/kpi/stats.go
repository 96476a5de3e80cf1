package kpi

import (
	"math"
	"sort"
)

// The significance tests of initiative analytics (DESIGN §5.8). They are pure functions over
// counts or samples; none returns NaN or an infinity, and a p-value is nil when the test is
// undefined (an empty side, or no variation at all).

// Test names reported in Significance.Test.
const (
	// TestTwoProportionZ is the pooled two-proportion z-test (rates).
	TestTwoProportionZ = "two-proportion-z"
	// TestMannWhitneyU is the Mann–Whitney U test, normal approximation with tie and continuity
	// corrections (durations).
	TestMannWhitneyU = "mann-whitney-u"
)

// Significance is the result of a two-sided test of "no difference" between sample A and sample B.
type Significance struct {
	Test string `json:"test"`
	// Z is the standardised statistic, positive when A is larger than B (for Mann–Whitney: A tends
	// to larger values), 0 when undefined.
	Z float64 `json:"z"`
	// U is the Mann–Whitney U of sample A (pairs (a, b) with a > b, ties counting ½); 0 for the z-test.
	U float64 `json:"u"`
	// P is the two-sided p-value; nil when the test is undefined (a side with n = 0, or every
	// observation equal so that the statistic has no variance).
	P *float64 `json:"p"`
}

// Significant reports whether P is defined and below alpha.
func (s Significance) Significant(alpha float64) bool { return s.P != nil && *s.P < alpha }

// NormalCDF returns Φ(x), the standard normal cumulative distribution, as ½·erfc(−x/√2), which
// keeps full relative precision in the lower tail.
func NormalCDF(x float64) float64 {
	if math.IsNaN(x) {
		return 0.5
	}
	return 0.5 * math.Erfc(-x/math.Sqrt2)
}

// twoSidedP returns 2·(1 − Φ(|z|)) = erfc(|z|/√2), capped at 1.
func twoSidedP(z float64) float64 {
	p := math.Erfc(math.Abs(z) / math.Sqrt2)
	return math.Min(1, math.Max(0, p))
}

// TwoProportionZ tests H0: pA = pB for xA successes of nA and xB successes of nB with the pooled
// two-proportion z-test: p̂ = (xA+xB)/(nA+nB), SE = √(p̂(1−p̂)(1/nA + 1/nB)), z = (xA/nA − xB/nB)/SE,
// two-sided p = 2(1 − Φ(|z|)). z² equals Pearson's χ² for the 2×2 table without Yates' correction.
// P is nil when a side is empty, counts are out of range, or p̂ is 0 or 1 (SE = 0).
func TwoProportionZ(xA, nA, xB, nB int64) Significance {
	out := Significance{Test: TestTwoProportionZ}
	if nA <= 0 || nB <= 0 || xA < 0 || xB < 0 || xA > nA || xB > nB {
		return out
	}
	fa, fb := float64(nA), float64(nB)
	pool := float64(xA+xB) / (fa + fb)
	se := math.Sqrt(pool * (1 - pool) * (1/fa + 1/fb))
	if se == 0 || math.IsNaN(se) {
		return out
	}
	out.Z = Finite((float64(xA)/fa - float64(xB)/fb) / se)
	p := twoSidedP(out.Z)
	out.P = &p
	return out
}

// MannWhitneyU tests H0: the distributions of a and b are equal, against a two-sided alternative,
// with the normal approximation of U:
//
//	U_a = R_a − n_a(n_a+1)/2          (R_a: sum of the midranks of a in the pooled sample)
//	μ = n_a·n_b/2
//	σ² = n_a·n_b/12 · ((n+1) − Σ(t³−t)/(n(n−1)))   (t: size of each group of ties, n = n_a+n_b)
//	z = sign(U_a−μ) · max(0, |U_a − μ| − ½) / σ      (continuity correction of ½)
//	p = 2(1 − Φ(|z|))
//
// This is what R's wilcox.test(a, b, exact = FALSE, correct = TRUE) and SciPy's
// mannwhitneyu(a, b, method = "asymptotic") compute. NaN and infinite observations are dropped.
// P is nil when a side is empty or every observation is equal (σ = 0).
func MannWhitneyU(a, b []float64) Significance { return mannWhitney(a, b, true) }

func mannWhitney(a, b []float64, continuity bool) Significance {
	out := Significance{Test: TestMannWhitneyU}
	type obs struct {
		v   float64
		inA bool
	}
	all := make([]obs, 0, len(a)+len(b))
	for _, v := range a {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			all = append(all, obs{v, true})
		}
	}
	na := len(all)
	for _, v := range b {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			all = append(all, obs{v, false})
		}
	}
	nb := len(all) - na
	if na == 0 || nb == 0 {
		return out
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(len(all))
	var ra, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		// Positions i..j-1 (ranks i+1..j) share the midrank.
		mid := float64(i+1+j) / 2
		t := float64(j - i)
		ties += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].inA {
				ra += mid
			}
		}
		i = j
	}
	fa, fb := float64(na), float64(nb)
	out.U = ra - fa*(fa+1)/2
	mu := fa * fb / 2
	v := fa * fb / 12 * ((n + 1) - ties/(n*(n-1)))
	if v <= 0 || math.IsNaN(v) {
		return out
	}
	d := out.U - mu
	if continuity {
		switch {
		case d > 0.5:
			d -= 0.5
		case d < -0.5:
			d += 0.5
		default:
			d = 0
		}
	}
	out.Z = Finite(d / math.Sqrt(v))
	p := twoSidedP(out.Z)
	out.P = &p
	return out
}

// Median returns the median of xs (the mean of the two middle values for an even count, as
// DuckDB's quantile_cont(x, 0.5)), sorting xs in place; 0 for an empty slice.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return (xs[m-1] + xs[m]) / 2
}
