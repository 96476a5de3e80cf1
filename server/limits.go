package server

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Refusal reasons: the values of ltc_http_refusals_total's reason label, each the lowercase of the
// stable error code the client receives.
const (
	ReasonUnauthenticated = "unauthenticated" // 401 UNAUTHENTICATED: no or unknown token or session
	ReasonForbidden       = "forbidden"       // 403 FORBIDDEN (HTTP) or a FORBIDDEN GraphQL field
	ReasonCrossOrigin     = "cross_origin"    // 403 CROSS_ORIGIN: a cookie request from a foreign origin
	ReasonRateLimited     = "rate_limited"    // 429 RATE_LIMITED: the caller's token bucket is empty
	ReasonOverloaded      = "overloaded"      // 503 OVERLOADED: no query slot within the queue timeout
	ReasonTooLarge        = "too_large"       // 413 TOO_LARGE: the body exceeds the cap
	ReasonTooComplex      = "too_complex"     // GraphQL TOO_COMPLEX: complexity or depth limit
	ReasonTimeout         = "timeout"         // GraphQL TIMEOUT: the per-request deadline passed
)

var refusalReasons = []string{ReasonUnauthenticated, ReasonForbidden, ReasonCrossOrigin, ReasonRateLimited,
	ReasonOverloaded, ReasonTooLarge, ReasonTooComplex, ReasonTimeout}

// Refusals counts refused requests by reason (ltc_http_refusals_total). A request refused for one
// reason at several places (e.g. three forbidden GraphQL fields) counts once. Safe for concurrent use.
type Refusals struct {
	total *prometheus.CounterVec
}

// NewRefusals creates the counter, with every reason at zero, and registers it with reg.
func NewRefusals(reg prometheus.Registerer) *Refusals {
	r := &Refusals{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ltc_http_refusals_total",
		Help: "HTTP requests refused by a security or resource limit, by reason (the lowercase error code: unauthenticated, forbidden, rate_limited, overloaded, too_large, too_complex, timeout, cross_origin).",
	}, []string{"reason"})}
	if err := reg.Register(r.total); err != nil {
		are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
		if !ok {
			panic(err) // a programming error, like MustRegister's
		}
		r.total = are.ExistingCollector.(*prometheus.CounterVec) // a second server on the same registry
	}
	for _, reason := range refusalReasons {
		r.total.WithLabelValues(reason)
	}
	return r
}

// Record counts a refusal. Under a request context prepared by the server it counts each reason
// once per request; code may be an API error code (TOO_COMPLEX) or a reason (too_complex), and
// unknown reasons are ignored (the label stays bounded).
func (r *Refusals) Record(ctx context.Context, code string) {
	reason := strings.ToLower(code)
	known := false
	for _, k := range refusalReasons {
		known = known || k == reason
	}
	if !known {
		return
	}
	if seen, ok := ctx.Value(refusalSetKey{}).(*refusalSet); ok && !seen.add(reason) {
		return
	}
	r.total.WithLabelValues(reason).Inc()
}

type refusalSetKey struct{}

// refusalSet holds the reasons already counted for one request.
type refusalSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (s *refusalSet) add(reason string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[reason] {
		return false
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[reason] = true
	return true
}

func withRefusalSet(ctx context.Context) context.Context {
	return context.WithValue(ctx, refusalSetKey{}, &refusalSet{})
}

// rateLimiter is a token bucket per key (a token name, or a client address for sign-in attempts):
// perSecond tokens are added each second up to burst, and each request takes one. The map is
// bounded: when it reaches maxKeys, buckets that have refilled completely are dropped (they behave
// exactly as fresh ones), and if none has, the whole map is reset.
type rateLimiter struct {
	perSecond float64
	burst     float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxRateKeys = 10000

// newRateLimiter returns a limiter, or nil (no limit) when perSecond ≤ 0.
func newRateLimiter(perSecond float64, burst int, now func() time.Time) *rateLimiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{perSecond: perSecond, burst: float64(burst), now: now, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket; when it is empty it returns false and how long until a token is back.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxRateKeys {
			l.pruneLocked(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.perSecond)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
	return false, wait
}

func (l *rateLimiter) pruneLocked(now time.Time) {
	full := time.Duration(l.burst / l.perSecond * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxRateKeys {
		l.buckets = map[string]*bucket{}
	}
}

// querySlots caps the GraphQL requests running at once: DuckDB shares its threads among them, so
// beyond a few, more concurrency only adds latency and memory.
type querySlots struct {
	slots chan struct{}
	wait  time.Duration
}

func newQuerySlots(n int, wait time.Duration) *querySlots {
	if n <= 0 {
		return nil
	}
	return &querySlots{slots: make(chan struct{}, n), wait: wait}
}

// acquire takes a slot, waiting up to the queue timeout; it returns a release func, or nil when
// no slot freed up in time (or ctx ended).
func (q *querySlots) acquire(ctx context.Context) func() {
	if q == nil {
		return func() {}
	}
	release := func() { <-q.slots }
	select {
	case q.slots <- struct{}{}:
		return release
	default:
	}
	t := time.NewTimer(q.wait)
	defer t.Stop()
	select {
	case q.slots <- struct{}{}:
		return release
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	}
}
