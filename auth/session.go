package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"
)

// DefaultSessionTTL is how long a dashboard session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// MaxSessionsPerIdentity bounds the live sessions of one identity (one configured token); past it,
// that identity's session closest to expiry is dropped. Eviction never crosses identities, so
// signing in over and over with one token cannot sign anyone else out, and the store holds at most
// this many sessions per configured token.
const MaxSessionsPerIdentity = 1000

// Sessions is the server-side store of dashboard sessions, in memory: a restart signs everyone out.
// The browser holds only a random session id (256 bits); the store keeps its SHA-256, so a memory
// dump does not yield usable cookies. It is safe for concurrent use.
type Sessions struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]session
	// byName holds each identity's session keys (Identity.Name), for the per-identity cap.
	byName map[string]map[[sha256.Size]byte]bool
}

type session struct {
	id      Identity
	expires time.Time
}

// NewSessions returns an empty store whose sessions last ttl (DefaultSessionTTL when ≤ 0); now is
// the clock (nil: time.Now).
func NewSessions(ttl time.Duration, now func() time.Time) *Sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{ttl: ttl, now: now, sessions: map[[sha256.Size]byte]session{},
		byName: map[string]map[[sha256.Size]byte]bool{}}
}

// TTL returns how long a session lasts.
func (s *Sessions) TTL() time.Duration { return s.ttl }

// Create starts a session for id and returns its secret id (for the cookie) and expiry.
func (s *Sessions) Create(id Identity) (string, time.Time, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, fmt.Errorf("auth.Sessions.Create: %w", err)
	}
	sid := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	expires := now.Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byName[id.Name]) >= MaxSessionsPerIdentity {
		s.pruneLocked(id.Name, now)
	}
	key := sha256.Sum256([]byte(sid))
	s.sessions[key] = session{id: id, expires: expires}
	if s.byName[id.Name] == nil {
		s.byName[id.Name] = map[[sha256.Size]byte]bool{}
	}
	s.byName[id.Name][key] = true
	return sid, expires, nil
}

// Lookup returns the identity of a live session.
func (s *Sessions) Lookup(sid string) (Identity, bool) {
	if sid == "" {
		return Identity{}, false
	}
	key := sha256.Sum256([]byte(sid))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[key]
	if !ok {
		return Identity{}, false
	}
	if !s.now().Before(sess.expires) {
		s.deleteLocked(key)
		return Identity{}, false
	}
	return sess.id, true
}

// Delete ends a session (logout); unknown ids are ignored.
func (s *Sessions) Delete(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(sha256.Sum256([]byte(sid)))
}

func (s *Sessions) deleteLocked(key [sha256.Size]byte) {
	sess, ok := s.sessions[key]
	if !ok {
		return
	}
	delete(s.sessions, key)
	delete(s.byName[sess.id.Name], key)
	if len(s.byName[sess.id.Name]) == 0 {
		delete(s.byName, sess.id.Name)
	}
}

// Len returns the number of stored sessions, expired ones not yet pruned included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// pruneLocked drops name's expired sessions and, if it still has MaxSessionsPerIdentity, its one
// closest to expiry. Other identities' sessions are never touched.
func (s *Sessions) pruneLocked(name string, now time.Time) {
	var oldest [sha256.Size]byte
	var oldestAt time.Time
	for k := range s.byName[name] {
		sess := s.sessions[k]
		if !now.Before(sess.expires) {
			s.deleteLocked(k)
			continue
		}
		if oldestAt.IsZero() || sess.expires.Before(oldestAt) {
			oldest, oldestAt = k, sess.expires
		}
	}
	if len(s.byName[name]) >= MaxSessionsPerIdentity {
		s.deleteLocked(oldest)
	}
}
