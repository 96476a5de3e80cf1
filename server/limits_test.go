package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRateLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(2, 3, func() time.Time { return now })
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("4th request: %v, wait %v (want refused, ≤ 0.5s)", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Error("another key shares the bucket")
	}
	now = now.Add(500 * time.Millisecond) // one token back at 2/s
	if ok, _ := l.allow("a"); !ok {
		t.Error("no token after 0.5s at 2/s")
	}
	if ok, _ := l.allow("a"); ok {
		t.Error("two tokens after 0.5s at 2/s")
	}
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("refilled bucket refused request %d", i+1)
		}
	}
	if l := newRateLimiter(0, 10, nil); l != nil {
		t.Error("rate 0 must mean no limiter")
	}
	var none *rateLimiter
	if ok, _ := none.allow("x"); !ok {
		t.Error("nil limiter refused")
	}
}

func TestRateLimiterBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newRateLimiter(1, 1, func() time.Time { return now })
	for i := range maxRateKeys + 10 {
		l.allow(strings.Repeat("k", i%50) + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if len(l.buckets) > maxRateKeys {
		t.Errorf("%d buckets, cap %d", len(l.buckets), maxRateKeys)
	}
}

func TestQuerySlots(t *testing.T) {
	q := newQuerySlots(1, 30*time.Millisecond)
	release := q.acquire(context.Background())
	if release == nil {
		t.Fatal("first slot refused")
	}
	began := time.Now()
	if q.acquire(context.Background()) != nil {
		t.Fatal("second slot granted with a cap of 1")
	}
	if d := time.Since(began); d < 25*time.Millisecond {
		t.Errorf("gave up after %v, want the queue timeout", d)
	}
	release()

	// A slot freed while a request waits goes to it (a long queue timeout, so that a loaded
	// machine cannot make the wait expire first).
	q = newQuerySlots(1, time.Minute)
	release = q.acquire(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		release()
	}()
	r2 := q.acquire(context.Background())
	if r2 == nil {
		t.Fatal("a slot freed while waiting was not granted")
	}
	r2()
}

func TestRefusalsCountOncePerRequest(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := NewRefusals(reg)
	ctx := withRefusalSet(context.Background())
	r.Record(ctx, "FORBIDDEN")
	r.Record(ctx, "forbidden")
	r.Record(ctx, "TOO_COMPLEX")
	r.Record(context.Background(), "FORBIDDEN")
	r.Record(ctx, "BAD_SCOPE") // not a refusal: ignored
	if got := testutil.ToFloat64(r.total.WithLabelValues("forbidden")); got != 2 {
		t.Errorf("forbidden = %v, want 2 (once per request)", got)
	}
	if got := testutil.ToFloat64(r.total.WithLabelValues("too_complex")); got != 1 {
		t.Errorf("too_complex = %v, want 1", got)
	}
	if n := testutil.CollectAndCount(r.total); n != len(refusalReasons) {
		t.Errorf("%d series, want one per reason (%d)", n, len(refusalReasons))
	}
	if again := NewRefusals(reg); again.total != r.total {
		t.Error("a second NewRefusals on the same registry made a new counter")
	}
}
