package docker

import (
	"container/list"
	"sync"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// cache holds inspected containers by id, least recently used evicted
// first, so a host with churn keeps bounded memory even if a destroy event
// is missed.
type cache struct {
	mu  sync.Mutex
	max int
	ll  *list.List
	m   map[string]*list.Element
}

type cacheEntry struct {
	id string
	c  event.Container
}

func newCache(max int) *cache {
	return &cache{max: max, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *cache) get(id string) (event.Container, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		return event.Container{}, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cacheEntry).c, true
}

func (c *cache) put(id string, v event.Container) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		e.Value.(*cacheEntry).c = v
		c.ll.MoveToFront(e)
		return
	}
	c.m[id] = c.ll.PushFront(&cacheEntry{id: id, c: v})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*cacheEntry).id)
	}
}

func (c *cache) del(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.Remove(e)
		delete(c.m, id)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
