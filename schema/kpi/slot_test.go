package kpi

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ltc-analytics/ltc/internal/queryslot"
)

// TestWaiterYieldsItsQuerySlot: a caller that joins another caller's in-flight computation gives
// its request's query slot back while it waits, and takes one again before it returns; the caller
// that computes keeps its slot.
func TestWaiterYieldsItsQuerySlot(t *testing.T) {
	e, _ := newFixture(t)
	slots := make(chan struct{}, 2)
	acquire := func(ctx context.Context) func() { slots <- struct{}{}; return func() { <-slots } }
	var computed atomic.Int32
	started, finish := make(chan struct{}), make(chan struct{})
	fn := func(context.Context) (int, error) {
		computed.Add(1)
		close(started)
		<-finish
		return 42, nil
	}
	first := queryslot.New(acquire(context.Background()), acquire)
	second := queryslot.New(acquire(context.Background()), acquire)
	done := make(chan int, 2)
	go func() {
		v, _ := cached(queryslot.With(context.Background(), first), e, "slot-test", "", fn)
		done <- v
	}()
	<-started
	go func() {
		v, _ := cached(queryslot.With(context.Background(), second), e, "slot-test", "", fn)
		done <- v
	}()
	// The second caller joins the flight and yields: one slot stays taken (the computing caller's).
	deadline := time.Now().Add(5 * time.Second)
	for len(slots) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("slots taken while the second caller waits: %d, want 1", len(slots))
		}
		time.Sleep(time.Millisecond)
	}
	close(finish)
	if a, b := <-done, <-done; a != 42 || b != 42 || computed.Load() != 1 {
		t.Fatalf("results %d, %d after %d computations; want 42, 42 after 1", a, b, computed.Load())
	}
	if len(slots) != 2 {
		t.Fatalf("slots taken after both returned: %d, want 2 (the waiter took one again)", len(slots))
	}
	first.Done()
	second.Done()
	if len(slots) != 0 {
		t.Fatalf("slots taken after both requests ended: %d, want 0", len(slots))
	}
}
