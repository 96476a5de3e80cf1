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

// TestResultCacheBoundedInBytes: the cache evicts by the size of its results, not their number,
// and never keeps one result that would take over an eighth of it.
func TestResultCacheBoundedInBytes(t *testing.T) {
	c := newResultCache(100000, 64<<10)
	small := make([]float64, 100) // about 200 bytes of JSON
	for i := range 1000 {
		c.Add(timeKey(time.Unix(int64(i), 0)), small)
		if c.Bytes() > 64<<10 {
			t.Fatalf("after %d results: %d bytes cached, budget %d", i+1, c.Bytes(), 64<<10)
		}
	}
	if n := c.Len(); n == 0 || n == 1000 {
		t.Errorf("%d results kept: want some, evicted by bytes", n)
	}
	if _, ok := c.Get(timeKey(time.Unix(999, 0))); !ok {
		t.Error("the newest result was evicted")
	}
	if _, ok := c.Get(timeKey(time.Unix(0, 0))); ok {
		t.Error("the oldest result is still cached")
	}
	huge := make([]float64, 10000)
	c.Add("huge", huge)
	if _, ok := c.Get("huge"); ok {
		t.Error("a result over an eighth of the budget was cached")
	}
}
