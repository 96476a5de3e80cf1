// Package queryslot lets code deep in a request give back the request's query slot while it only
// waits for another request's computation (a shared KPI query): the server puts the request's
// Slot in its context, the KPI engine yields it around the wait. Without a Slot in the context
// (tests, the ETL, metrics), Yield does nothing.
package queryslot

import (
	"context"
	"sync"
)

// Slot is one request's hold on a query slot, shared by the request's concurrent resolvers: the
// slot is given back when one of them yields, and taken again when one resumes.
type Slot struct {
	release func()
	acquire func(ctx context.Context) func()

	mu       sync.Mutex
	held     bool
	yielding int
}

// New returns a held Slot: release gives it back, acquire takes one again (waiting as the
// server's queue does) and returns its release, or nil when none freed up in time.
func New(release func(), acquire func(ctx context.Context) func()) *Slot {
	return &Slot{release: release, acquire: acquire, held: true}
}

// Yield gives the slot back until the returned resume is called; resume takes a slot again
// (or, when none frees up in time, lets the request finish without one: its remaining work is
// answering from the shared result).
func (s *Slot) Yield(ctx context.Context) (resume func()) {
	s.mu.Lock()
	s.yielding++
	if s.held {
		s.held = false
		s.release()
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.yielding--
		if !s.held {
			if r := s.acquire(ctx); r != nil {
				s.release, s.held = r, true
			}
		}
	}
}

// Done gives the slot back at the end of the request, if it is held.
func (s *Slot) Done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		s.release()
	}
}

type key struct{}

// With returns ctx carrying s.
func With(ctx context.Context, s *Slot) context.Context { return context.WithValue(ctx, key{}, s) }

// Yield yields the Slot of ctx, if any (see Slot.Yield).
func Yield(ctx context.Context) (resume func()) {
	if s, ok := ctx.Value(key{}).(*Slot); ok {
		return s.Yield(ctx)
	}
	return func() {}
}
