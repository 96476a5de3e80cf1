package kpi

import (
	"context"
	"math"
	"testing"
	"time"
)

// TestCacheKeyOutsideUnixNanoRange: a scope 2^64 ns after March 2025 (in 2609) had the same
// UnixNano cache key as March, so it was answered with March's cached numbers.
func TestCacheKeyOutsideUnixNanoRange(t *testing.T) {
	eng, _ := newFixture(t)
	ctx := context.Background()
	m := march()
	shift := func(t time.Time) time.Time { return t.Add(math.MaxInt64).Add(math.MaxInt64).Add(2) } // + 2^64 ns
	far := Scope{From: shift(m.From), To: shift(m.To)}
	if far.From.UnixNano() != m.From.UnixNano() {
		t.Skip("UnixNano does not wrap on this platform; the collision cannot be built")
	}
	got, err := eng.WonValue(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if got.Total.N == 0 {
		t.Fatal("the fixture has no won deal in March")
	}
	gotFar, err := eng.WonValue(ctx, far)
	if err != nil {
		t.Fatal(err)
	}
	if gotFar.Total.Value != 0 || gotFar.Total.N != 0 {
		t.Errorf("won value in %d: %v (n %d), want 0: March's cached answer", far.From.Year(), gotFar.Total.Value, gotFar.Total.N)
	}
	if timeKey(m.From) == timeKey(far.From) {
		t.Error("timeKey collides")
	}
}
