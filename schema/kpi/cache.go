package kpi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ltc-analytics/ltc/internal/bytecache"
	"github.com/ltc-analytics/ltc/internal/queryslot"
)

// flightState counts the callers waiting for one in-flight computation, so that the shared
// query is cancelled when the last of them gives up (and not when the first one does).
type flightState struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// flights is the per-engine registry of in-flight computations, beside the singleflight group.
type flights struct {
	mu    sync.Mutex
	m     map[string]*flightState
	group singleflight.Group
}

// defaultCacheBytes is the result cache's default budget (Options.CacheBytes).
const defaultCacheBytes = 64 << 20

// resultCache is the engine's LRU cache of results, bounded by entries and by the approximate
// bytes of its results (their JSON size: results are plain structs of numbers and short strings,
// so it tracks their memory within a small factor). A result over an eighth of the budget is not
// kept at all. Safe for concurrent use.
type resultCache struct {
	*bytecache.Cache[any]
}

func newResultCache(entries int, maxBytes int64) *resultCache {
	return &resultCache{bytecache.New[any](entries, maxBytes)}
}

// Add caches v under key, sized by its JSON encoding.
func (c *resultCache) Add(key string, v any) {
	size := int64(64 << 10) // a result JSON cannot encode (a NaN): a generous guess
	if b, err := json.Marshal(v); err == nil {
		size = int64(len(b)+len(key)) + 256
	}
	c.Cache.Add(key, v, size)
}

// timeKey is t's instant in cache keys: seconds and nanoseconds since the Unix epoch, exact for
// every time.Time (UnixNano overflows outside 1678–2262, so two instants 2^64 ns apart collided).
func timeKey(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// cached returns the result of fn for (name, args) at the current data version and under the row
// scope of ctx (RowScope): from the LRU cache
// when present, else computed once however many callers ask at the same time (singleflight).
// Results are shared between callers and must be treated as read-only.
func cached[T any](ctx context.Context, e *Engine, name, args string, compute func(context.Context) (T, error)) (T, error) {
	var zero T
	// Every result leaves the engine with LowSample set by the engine's minimum n.
	fn := func(c context.Context) (T, error) {
		r, err := compute(c)
		if err == nil {
			flagLowSample(reflect.ValueOf(&r), e.minSample())
		}
		return r, err
	}
	if e.cache == nil {
		return fn(ctx)
	}
	// The data version is the in-memory one (schema.DB.Version, set after every commit that
	// changes the derived tables), so a cache hit costs no query. The row scope is part of the
	// key: callers with different scopes never share a result.
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", name, e.db.Version(), args, rowScopeOf(ctx).key())
	for attempt := 0; ; attempt++ {
		if r, ok := e.cache.Get(key); ok {
			return r.(T), nil
		}
		r, err := e.shared(ctx, key, func(c context.Context) (any, error) { return fn(c) })
		if err == nil {
			return r.(T), nil
		}
		// The shared run was cancelled because every earlier waiter left just as we joined: retry once.
		if attempt == 0 && errors.Is(err, context.Canceled) && ctx.Err() == nil {
			continue
		}
		return zero, err
	}
}

// shared runs fn once per key among concurrent callers and caches a successful result. The run
// has its own context, cancelled when every caller waiting for it has gone.
func (e *Engine) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	f := &e.fl
	f.mu.Lock()
	st := f.m[key]
	joined := st != nil
	if st == nil {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		st = &flightState{ctx: runCtx, cancel: cancel}
		f.m[key] = st
	}
	st.waiters++
	// DoChan is called under the lock, so a registered run cannot finish unseen; whichever caller's
	// function singleflight executes computes under the shared context.
	ch := f.group.DoChan(key, func() (any, error) {
		defer e.forget(key, st)
		r, err := fn(st.ctx)
		if err == nil {
			e.cache.Add(key, r)
		}
		return r, err
	})
	f.mu.Unlock()

	if joined {
		// Only waiting for another caller's run: the request's query slot is free meanwhile.
		resume := queryslot.Yield(ctx)
		defer resume()
	}
	select {
	case res := <-ch:
		e.leave(key, st)
		return res.Val, res.Err
	case <-ctx.Done():
		e.leave(key, st)
		return nil, ctx.Err()
	}
}

// forget removes a finished run from the registry.
func (e *Engine) forget(key string, st *flightState) {
	e.fl.mu.Lock()
	if e.fl.m[key] == st {
		delete(e.fl.m, key)
	}
	e.fl.mu.Unlock()
}

// leave drops a waiter and, when none is left, cancels the shared run and forgets it.
func (e *Engine) leave(key string, st *flightState) {
	e.fl.mu.Lock()
	st.waiters--
	last := st.waiters == 0
	if last && e.fl.m[key] == st {
		delete(e.fl.m, key)
	}
	e.fl.mu.Unlock()
	if last {
		st.cancel()
	}
}

// valueType is the type flagLowSample sets LowSample on.
var valueType = reflect.TypeFor[Value]()

// flagLowSample sets LowSample to N < min on every Value reachable from v through pointers,
// exported struct fields, slices and arrays: one threshold for every family, group, bucket and field.
func flagLowSample(v reflect.Value, min int64) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			flagLowSample(v.Elem(), min)
		}
	case reflect.Struct:
		if v.Type() == valueType {
			if v.CanSet() {
				x := v.Addr().Interface().(*Value)
				x.LowSample = x.N < min
			}
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				flagLowSample(v.Field(i), min)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			flagLowSample(v.Index(i), min)
		}
	}
}

// minSample is the engine's minimum n (Options.MinSample, default MinSample).
func (e *Engine) minSample() int64 {
	if e.opts.MinSample > 0 {
		return int64(e.opts.MinSample)
	}
	return MinSample
}
