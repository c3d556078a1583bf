package dynamo

import (
	"sync"
	"time"
)

// Reads cached per container (per Store), for a short time: tenants (their
// settings) and template overrides change rarely and are read by almost
// every request. A change made through this Store is seen at once; a change
// made elsewhere (another container, the operator CLI) within these times.
const (
	TenantCacheTTL   = 30 * time.Second
	TemplateCacheTTL = 60 * time.Second
)

// cache is a small map with expiry, safe for concurrent use.
type cache[V any] struct {
	mu      sync.Mutex
	entries map[string]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

func (c *cache[V]) get(k string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *cache[V]) put(k string, v V, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cacheEntry[V]{}
	}
	c.entries[k] = cacheEntry[V]{v: v, expires: expires}
}

func (c *cache[V]) drop(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, k)
}
