package auth

import (
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSessions(time.Hour, func() time.Time { return now })
	id := Identity{Name: "north", Role: Viewer}
	sid, exp, err := s.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	if len(sid) < 40 || !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("Create = %q, %v", sid, exp)
	}
	if got, ok := s.Lookup(sid); !ok || got.Name != "north" {
		t.Errorf("Lookup = %+v, %v", got, ok)
	}
	if _, ok := s.Lookup(sid + "x"); ok {
		t.Error("Lookup of a wrong id succeeded")
	}
	if _, ok := s.Lookup(""); ok {
		t.Error("Lookup of an empty id succeeded")
	}

	now = now.Add(time.Hour)
	if _, ok := s.Lookup(sid); ok {
		t.Error("session alive at its expiry")
	}
	if s.Len() != 0 {
		t.Errorf("expired session kept: %d", s.Len())
	}

	sid, _, _ = s.Create(id)
	s.Delete(sid)
	if _, ok := s.Lookup(sid); ok {
		t.Error("session alive after Delete")
	}
}

// TestSessionsBounded: one identity signing in past the cap loses its own oldest session, never
// another identity's (a viewer signing in 10,000 times once signed an admin out).
func TestSessionsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSessions(time.Hour, func() time.Time { return now })
	admin, _, _ := s.Create(Identity{Name: "ops", Role: Admin})
	first, _, _ := s.Create(Identity{Name: "viewer"})
	var last string
	for range 10 * MaxSessionsPerIdentity {
		now = now.Add(time.Microsecond)
		var err error
		if last, _, err = s.Create(Identity{Name: "viewer"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != MaxSessionsPerIdentity+1 {
		t.Errorf("%d sessions stored, want the viewer's %d and the admin's", s.Len(), MaxSessionsPerIdentity)
	}
	if _, ok := s.Lookup(admin); !ok {
		t.Error("the admin was signed out by the viewer's sign-ins")
	}
	if _, ok := s.Lookup(first); ok {
		t.Error("the viewer's oldest session survived past the cap")
	}
	if _, ok := s.Lookup(last); !ok {
		t.Error("the viewer's newest session is gone")
	}
	s.Delete(last)
	if s.Len() != MaxSessionsPerIdentity {
		t.Errorf("%d sessions after a logout", s.Len())
	}
}
