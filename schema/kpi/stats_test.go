package kpi

import (
	"math"
	"testing"
)

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol {
		t.Errorf("%s = %.12g, want %.12g (±%g)", name, got, want, tol)
	}
}

func TestNormalCDF(t *testing.T) {
	// Standard normal table values (e.g. NIST/SEMATECH e-Handbook of Statistical Methods,
	// §1.3.6.7.1 "Cumulative Distribution Function of the Standard Normal Distribution":
	// Φ(1.96) = 0.97500, Φ(1.00) = 0.84134); Φ(−8) = 6.22096e-16 (Abramowitz & Stegun 26.2 tail).
	for _, c := range []struct{ x, want, tol float64 }{
		{0, 0.5, 1e-15},
		{1.96, 0.97500, 5e-6},
		{-1.96, 0.02500, 5e-6},
		{1, 0.84134, 5e-6},
		{-8, 6.22096e-16, 1e-20},
	} {
		near(t, "Φ", NormalCDF(c.x), c.want, c.tol)
	}
	if NormalCDF(math.NaN()) != 0.5 || NormalCDF(math.Inf(1)) != 1 || NormalCDF(math.Inf(-1)) != 0 {
		t.Error("Φ of NaN/±Inf")
	}
}

func TestTwoProportionZPublished(t *testing.T) {
	// Agresti, An Introduction to Categorical Data Analysis (2nd ed., 2007), §2.2 and §2.4: the
	// Physicians' Health Study, myocardial infarction 189 of 11 034 on placebo vs 104 of 11 037 on
	// aspirin; Pearson X² = 25.01 (df 1), P < 0.0001. The pooled z-test's z² is Pearson's X².
	s := TwoProportionZ(189, 11034, 104, 11037)
	near(t, "aspirin z²", s.Z*s.Z, 25.01, 0.005)
	if s.Z <= 0 || s.P == nil || *s.P >= 1e-4 {
		t.Errorf("aspirin: %+v", s)
	}
	near(t, "aspirin p", *s.P, math.Erfc(math.Sqrt(25.0136)/math.Sqrt2), 1e-8)

	// OpenIntro Statistics (4th ed., 2019), §6.2.3, the mammogram trial: breast-cancer deaths
	// 500 of 44 925 with mammograms vs 505 of 44 910 in the control group; p̂_pooled = 0.0112,
	// SE = 0.00070, Z = −0.17, p-value = 0.8650. The book rounds SE and the difference before
	// dividing (−0.00012 / 0.00070); unrounded, Z = −0.164 and p = 0.870.
	s = TwoProportionZ(500, 44925, 505, 44910)
	near(t, "mammogram z", s.Z, -0.17, 0.01)
	near(t, "mammogram p", *s.P, 0.8650, 0.006)
	near(t, "mammogram z unrounded", s.Z, -0.1640, 5e-4)

	// Symmetry: swapping the samples flips z and keeps p.
	r := TwoProportionZ(505, 44910, 500, 44925)
	near(t, "swapped z", r.Z, -s.Z, 1e-12)
	near(t, "swapped p", *r.P, *s.P, 1e-12)
}

func TestTwoProportionZEdges(t *testing.T) {
	for _, c := range []struct {
		name           string
		xa, na, xb, nb int64
	}{
		{"empty A", 0, 0, 3, 10},
		{"empty B", 3, 10, 0, 0},
		{"both empty", 0, 0, 0, 0},
		{"all successes", 5, 5, 7, 7},
		{"no successes", 0, 5, 0, 7},
		{"x > n", 6, 5, 1, 7},
		{"negative", -1, 5, 1, 7},
	} {
		s := TwoProportionZ(c.xa, c.na, c.xb, c.nb)
		if s.P != nil || s.Z != 0 || s.Test != TestTwoProportionZ {
			t.Errorf("%s: %+v, want no p-value", c.name, s)
		}
	}
	// Equal proportions: z = 0, p = 1.
	s := TwoProportionZ(3, 10, 30, 100)
	if s.P == nil || *s.P != 1 || s.Z != 0 {
		t.Errorf("equal proportions: %+v", s)
	}
	// Small samples stay finite.
	s = TwoProportionZ(1, 1, 0, 1)
	if s.P == nil || math.IsNaN(*s.P) || *s.P <= 0 || *s.P > 1 {
		t.Errorf("1/1 vs 0/1: %+v", s)
	}
}

func TestMannWhitneyPublished(t *testing.T) {
	// SciPy documentation, scipy.stats.mannwhitneyu (Examples; data from Conover's example of
	// ages of males and females): U1 = 17, U2 = 3; method="asymptotic" (continuity-corrected)
	// p = 0.11134688653314041; without the correction p = 0.0864107329737 (z = 7/√(200/12)).
	males := []float64{19, 22, 16, 29, 24}
	females := []float64{20, 11, 17, 12}
	s := MannWhitneyU(males, females)
	near(t, "U1", s.U, 17, 0)
	near(t, "p", *s.P, 0.11134688653314041, 1e-12)
	near(t, "z", s.Z, 6.5/math.Sqrt(200.0/12), 1e-12)
	near(t, "p without correction", *mannWhitney(males, females, false).P, 0.0864107329737, 1e-12)
	r := MannWhitneyU(females, males)
	near(t, "U2", r.U, 3, 0)
	near(t, "swapped p", *r.P, *s.P, 1e-15)
	near(t, "swapped z", r.Z, -s.Z, 1e-15)

	// Small, perfectly separated samples: R, wilcox.test(c(1, 2, 3), c(4, 5, 6), exact = FALSE)
	// gives W = 0, p-value = 0.08086 (continuity-corrected normal approximation).
	s = MannWhitneyU([]float64{1, 2, 3}, []float64{4, 5, 6})
	near(t, "separated U", s.U, 0, 0)
	near(t, "separated p", *s.P, 0.08086, 5e-6)
	if s.Z >= 0 {
		t.Errorf("separated z = %v, want < 0 (A lower)", s.Z)
	}
}

func TestMannWhitneyTies(t *testing.T) {
	// Heavy ties: a frequency table of scores 1..6, x counts (60, 21, 11, 4, 3, 1), y counts
	// (130, 50, 10, 6, 4, 0). R 4.x, wilcox.test(x, y, exact = FALSE) — tie-corrected variance,
	// continuity correction — reports W = 10756, p-value = 0.2126; with correct = FALSE
	// (no continuity correction, ties still corrected) p-value = 0.2123. (Worked in
	// garciparedes/r-examples, statistical-inference/non-parametric/exercise-10.r; without the tie
	// correction the p-value would be 0.2855, which the test also rules out.)
	expand := func(counts []int) []float64 {
		var out []float64
		for v, c := range counts {
			for range c {
				out = append(out, float64(v+1))
			}
		}
		return out
	}
	x := expand([]int{60, 21, 11, 4, 3, 1})
	y := expand([]int{130, 50, 10, 6, 4, 0})
	s := MannWhitneyU(x, y)
	near(t, "W", s.U, 10756, 0)
	near(t, "p (ties, continuity)", *s.P, 0.2126, 5e-5)
	near(t, "p (ties, no continuity)", *mannWhitney(x, y, false).P, 0.2123, 5e-5)

	// Hand-computed small sample with ties: a = (1, 2, 2), b = (2, 3, 4). Pooled ranks: 1 → 1,
	// the three 2s → 3, 3 → 5, 4 → 6. R_a = 1 + 3 + 3 = 7, U_a = 7 − 6 = 1, μ = 4.5;
	// σ² = 9/12 · (7 − (27 − 3)/30) = 4.65; z = −(3.5 − 0.5)/√4.65 = −1.39122; p = 0.16416.
	s = MannWhitneyU([]float64{1, 2, 2}, []float64{2, 3, 4})
	near(t, "small ties U", s.U, 1, 0)
	near(t, "small ties z", s.Z, -3/math.Sqrt(4.65), 1e-12)
	near(t, "small ties p", *s.P, 0.164159, 1e-6)
}

func TestMannWhitneyEdges(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b []float64
	}{
		{"empty A", nil, []float64{1, 2}},
		{"empty B", []float64{1, 2}, nil},
		{"both empty", nil, nil},
		{"all equal", []float64{3, 3, 3}, []float64{3, 3}},
		{"one each, equal", []float64{5}, []float64{5}},
		{"only NaN in A", []float64{math.NaN(), math.Inf(1)}, []float64{1, 2}},
	} {
		s := MannWhitneyU(c.a, c.b)
		if s.P != nil || s.Z != 0 || math.IsNaN(s.U) {
			t.Errorf("%s: %+v, want no p-value", c.name, s)
		}
	}
	// Identical samples: U = μ, z = 0, p = 1.
	s := MannWhitneyU([]float64{1, 2, 3}, []float64{3, 2, 1})
	if s.P == nil || *s.P != 1 || s.Z != 0 || s.U != 4.5 {
		t.Errorf("identical samples: %+v", s)
	}
	// One observation each, different: σ² = 1/12·3 = 0.25, |U − μ| = 0.5 → corrected to 0, p = 1.
	s = MannWhitneyU([]float64{2}, []float64{1})
	if s.P == nil || *s.P != 1 || s.U != 1 {
		t.Errorf("1 vs 1: %+v", s)
	}
	// NaN observations are dropped, not ranked.
	a := MannWhitneyU([]float64{1, 2, 3, math.NaN()}, []float64{4, 5, 6})
	near(t, "NaN dropped", *a.P, 0.08086, 5e-6)
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{4, 1}, 2.5}, {[]float64{5, 1, 3}, 3}} {
		if got := Median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func BenchmarkMannWhitneyU(b *testing.B) {
	a := make([]float64, 5000)
	c := make([]float64, 5000)
	for i := range a {
		a[i] = float64((i * 7919) % 97)
		c[i] = float64((i*104729)%89) + 3
	}
	for b.Loop() {
		MannWhitneyU(a, c)
	}
}

// TestWilsonInterval: the 95% Wilson score interval against values worked out by hand
// (z = 1.95996): 7 of 9 → [0.4528, 0.9368]; 0 of 10 → [0, 0.2775]; rates carry it, counts do not,
// and n below MinSample is flagged.
func TestWilsonInterval(t *testing.T) {
	lo, hi := wilson(7.0/9, 9)
	if math.Abs(lo-0.45258) > 5e-5 || math.Abs(hi-0.93676) > 5e-5 {
		t.Errorf("7/9: [%v, %v]", lo, hi)
	}
	lo, hi = wilson(0, 10)
	if lo != 0 || math.Abs(hi-0.27753) > 5e-5 {
		t.Errorf("0/10: [%v, %v]", lo, hi)
	}
	v := pair(proportion(7, 9), proportion(1, 2))
	if v.Low == nil || v.High == nil || !v.LowSample {
		t.Errorf("rate 7/9: %+v", v)
	}
	c := pair(count(40, 40), count(1, 1))
	if c.Low != nil || c.LowSample {
		t.Errorf("count over 40: %+v", c)
	}
}
