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

func TestSessionsBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSessions(time.Hour, func() time.Time { return now })
	first, _, _ := s.Create(Identity{Name: "first"})
	for range maxSessions {
		now = now.Add(time.Millisecond)
		if _, _, err := s.Create(Identity{Name: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() > maxSessions {
		t.Errorf("%d sessions stored, cap %d", s.Len(), maxSessions)
	}
	if _, ok := s.Lookup(first); ok {
		t.Error("the session closest to expiry survived a full store")
	}
}
