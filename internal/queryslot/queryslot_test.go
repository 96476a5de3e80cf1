package queryslot

import (
	"context"
	"testing"
)

// TestYieldReleasesAndResumeTakesAgain: a held slot is given back on Yield and taken again on
// resume; Done gives it back once; Yield without a Slot in the context does nothing.
func TestYieldReleasesAndResumeTakesAgain(t *testing.T) {
	pool := make(chan struct{}, 1)
	acquire := func(context.Context) func() {
		select {
		case pool <- struct{}{}:
			return func() { <-pool }
		default:
			return nil
		}
	}
	s := New(acquire(context.Background()), acquire)
	ctx := With(context.Background(), s)
	resume := Yield(ctx)
	if len(pool) != 0 {
		t.Fatalf("after Yield %d slots taken, want 0", len(pool))
	}
	pool <- struct{}{} // another request takes the free slot
	resume()           // none free: the request goes on without one
	<-pool
	if s.held {
		t.Fatal("resume took a slot that was not free")
	}
	Yield(ctx)() // free now: resume takes it
	if len(pool) != 1 || !s.held {
		t.Fatalf("after resume %d slots taken, held %v; want 1, true", len(pool), s.held)
	}
	s.Done()
	s.Done()
	if len(pool) != 0 {
		t.Fatalf("after Done %d slots taken, want 0", len(pool))
	}
	Yield(context.Background())()
}
