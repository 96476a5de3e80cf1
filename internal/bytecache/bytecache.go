// Package bytecache is an LRU cache bounded by the approximate bytes of its values as well as by
// entries: the KPI engine's result cache and the GraphQL response cache share it.
package bytecache

import (
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache is an LRU cache of values of type V holding at most maxBytes (the sizes callers give at
// Add) and a fixed number of entries. A value over an eighth of the budget is not kept at all.
// It is safe for concurrent use.
type Cache[V any] struct {
	maxBytes int64

	mu    sync.Mutex // guards bytes and every change to lru (its evictions update bytes)
	lru   *lru.Cache[string, sized[V]]
	bytes int64
}

type sized[V any] struct {
	v    V
	size int64
}

// New returns a cache of at most entries values (> 0) and maxBytes bytes.
func New[V any](entries int, maxBytes int64) *Cache[V] {
	c := &Cache[V]{maxBytes: maxBytes}
	c.lru, _ = lru.NewWithEvict(entries, func(_ string, s sized[V]) { c.bytes -= s.size }) // entries > 0
	return c
}

// Get returns the value cached under key.
func (c *Cache[V]) Get(key string) (V, bool) {
	s, ok := c.lru.Get(key)
	return s.v, ok
}

// Add caches v, of about size bytes, under key (a key already cached is kept as it is), then
// evicts the least recently used values until the cache is within its budget.
func (c *Cache[V]) Add(key string, v V, size int64) {
	if size > c.maxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lru.Contains(key) {
		return
	}
	c.lru.Add(key, sized[V]{v: v, size: size})
	c.bytes += size
	for c.bytes > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// Bytes returns the approximate bytes the cached values hold.
func (c *Cache[V]) Bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}

// Len returns the number of cached values.
func (c *Cache[V]) Len() int { return c.lru.Len() }

// Contains reports whether key is cached, without touching its recency.
func (c *Cache[V]) Contains(key string) bool { return c.lru.Contains(key) }
