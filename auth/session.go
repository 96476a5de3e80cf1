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

// maxSessions bounds the store; past it the session closest to expiry is dropped.
const maxSessions = 10000

// Sessions is the server-side store of dashboard sessions, in memory: a restart signs everyone out.
// The browser holds only a random session id (256 bits); the store keeps its SHA-256, so a memory
// dump does not yield usable cookies. It is safe for concurrent use.
type Sessions struct {
	ttl time.Duration
	now func() time.Time

	mu       sync.Mutex
	sessions map[[sha256.Size]byte]session
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
	return &Sessions{ttl: ttl, now: now, sessions: map[[sha256.Size]byte]session{}}
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
	if len(s.sessions) >= maxSessions {
		s.pruneLocked(now)
	}
	s.sessions[sha256.Sum256([]byte(sid))] = session{id: id, expires: expires}
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
		delete(s.sessions, key)
		return Identity{}, false
	}
	return sess.id, true
}

// Delete ends a session (logout); unknown ids are ignored.
func (s *Sessions) Delete(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sha256.Sum256([]byte(sid)))
}

// Len returns the number of stored sessions, expired ones not yet pruned included.
func (s *Sessions) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// pruneLocked drops expired sessions and, if the store is still full, the one closest to expiry.
func (s *Sessions) pruneLocked(now time.Time) {
	var oldest [sha256.Size]byte
	var oldestAt time.Time
	for k, sess := range s.sessions {
		if !now.Before(sess.expires) {
			delete(s.sessions, k)
			continue
		}
		if oldestAt.IsZero() || sess.expires.Before(oldestAt) {
			oldest, oldestAt = k, sess.expires
		}
	}
	if len(s.sessions) >= maxSessions {
		delete(s.sessions, oldest)
	}
}
