package admission

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// VerdictSource answers image verdicts from the server; *client.Client is
// one (POST /api/v1/images/verdicts).
type VerdictSource interface {
	ImageVerdicts(ctx context.Context, images []string) ([]model.ImageVerdict, error)
}

// VerdictCacheOptions configure a VerdictCache.
type VerdictCacheOptions struct {
	Source VerdictSource
	// Size bounds the images held (least recently used dropped first;
	// default 10,000).
	Size int
	// TTL is how long a verdict is fresh (default 5 min). An older one is
	// still answered — the last good verdict — while a fetch is queued;
	// verdicts reviews keep asking for are refreshed before they age
	// (every TTL/2), so a hot image never goes stale while the server
	// answers.
	TTL time.Duration
	// UnknownTTL is how long the server's "unknown image" is believed
	// before it is asked again (default 30 s: an image scanned meanwhile
	// is picked up soon).
	UnknownTTL time.Duration
	// RetryAfter is the pause after a failed fetch (default 10 s): an
	// unreachable server is not hammered by every review.
	RetryAfter time.Duration
	// Timeout bounds one fetch (default 5 s); Batch the images per fetch
	// (default 100).
	Timeout time.Duration
	Batch   int
	Logger  *slog.Logger
	Now     func() time.Time
}

// VerdictCache gives reviews the server's image verdicts from memory: a
// lookup never waits for the network. A miss answers unknown and queues a
// fetch that one background goroutine (Run) sends in batches; the review
// that missed is decided by the webhook's unknown-image behaviour, the
// next one of the same image by its verdict. When the server is
// unreachable the verdicts held are kept and answered. Safe for
// concurrent use.
type VerdictCache struct {
	o     VerdictCacheOptions
	queue chan string

	mu      sync.Mutex
	ll      *list.List // front: most recently used
	items   map[string]*list.Element
	pending map[string]bool // queued or being fetched
	down    bool            // the last fetch failed (logged once)

	hits, misses, stale, fetches, fetchErrors, dropped atomic.Uint64
}

type verdictEntry struct {
	image   string
	v       model.ImageVerdict
	fetched time.Time
	hit     bool // looked up since the last refresh pass
}

// NewVerdictCache returns an empty cache; Run fills it.
func NewVerdictCache(o VerdictCacheOptions) *VerdictCache {
	if o.Size <= 0 {
		o.Size = 10000
	}
	if o.TTL <= 0 {
		o.TTL = 5 * time.Minute
	}
	if o.UnknownTTL <= 0 {
		o.UnknownTTL = 30 * time.Second
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &VerdictCache{o: o, queue: make(chan string, 4096), ll: list.New(), items: map[string]*list.Element{}, pending: map[string]bool{}}
}

// Lookup is the policy engine's verdict function (policy.WithImageVerdicts):
// the verdict held for image, and whether the server knows the image. It
// never blocks on the server.
func (c *VerdictCache) Lookup(image string) (model.ImageVerdict, bool) {
	now := c.o.Now()
	c.mu.Lock()
	el, ok := c.items[image]
	if !ok {
		c.enqueueLocked(image)
		c.mu.Unlock()
		c.misses.Add(1)
		return model.ImageVerdict{Image: image}, false
	}
	c.ll.MoveToFront(el)
	e := el.Value.(*verdictEntry)
	e.hit = true
	ttl := c.o.TTL
	if !e.v.Known {
		ttl = c.o.UnknownTTL
	}
	if now.Sub(e.fetched) > ttl {
		c.stale.Add(1)
		c.enqueueLocked(image)
	}
	v := e.v
	c.mu.Unlock()
	c.hits.Add(1)
	return v, v.Known
}

// enqueueLocked queues a fetch of image unless one is pending; a full
// queue drops it (counted): the next lookup asks again.
func (c *VerdictCache) enqueueLocked(image string) {
	if c.pending[image] {
		return
	}
	select {
	case c.queue <- image:
		c.pending[image] = true
	default:
		c.dropped.Add(1)
	}
}

// Run fetches queued images in batches and refreshes the verdicts reviews
// use before they age, until ctx ends.
func (c *VerdictCache) Run(ctx context.Context) {
	refresh := time.NewTicker(max(c.o.TTL/2, time.Second))
	defer refresh.Stop()
	for {
		var first string
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			c.refreshHot()
			continue
		case first = <-c.queue:
		}
		batch := []string{first}
	fill:
		for len(batch) < c.o.Batch {
			select {
			case img := <-c.queue:
				batch = append(batch, img)
			default:
				break fill
			}
		}
		if !c.fetch(ctx, batch) {
			select { // an unreachable server is asked again after a pause
			case <-ctx.Done():
				return
			case <-time.After(c.o.RetryAfter):
			}
		}
	}
}

// Prefetch queues images (e.g. those running in the cluster) so their
// first review already finds a verdict.
func (c *VerdictCache) Prefetch(images ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, img := range images {
		if _, ok := c.items[img]; !ok {
			c.enqueueLocked(img)
		}
	}
}

// refreshHot queues the verdicts looked up since the last pass that are
// past half their TTL.
func (c *VerdictCache) refreshHot() {
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.ll.Front(); el != nil; el = el.Next() {
		e := el.Value.(*verdictEntry)
		if !e.hit {
			continue
		}
		ttl := c.o.TTL
		if !e.v.Known {
			ttl = c.o.UnknownTTL
		}
		if now.Sub(e.fetched) > ttl/2 {
			e.hit = false
			c.enqueueLocked(e.image)
		}
	}
}

// fetch asks the server for batch and stores the answers; false when the
// server could not be asked (the entries held stay).
func (c *VerdictCache) fetch(ctx context.Context, batch []string) bool {
	fctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	c.fetches.Add(1)
	vs, err := c.o.Source.ImageVerdicts(fctx, batch)
	now := c.o.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, img := range batch {
		delete(c.pending, img)
	}
	if err != nil {
		c.fetchErrors.Add(1)
		if !c.down && ctx.Err() == nil {
			c.o.Logger.Warn("image verdicts: server unreachable; answering the verdicts held, unknown for the others", "images", len(batch), "err", err)
		}
		c.down = true
		return false
	}
	if c.down {
		c.o.Logger.Info("image verdicts: server reachable again")
		c.down = false
	}
	for i, img := range batch {
		v := vs[i]
		v.Image = img
		if el, ok := c.items[img]; ok {
			e := el.Value.(*verdictEntry)
			e.v, e.fetched = v, now
			continue
		}
		c.items[img] = c.ll.PushFront(&verdictEntry{image: img, v: v, fetched: now})
		for c.ll.Len() > c.o.Size {
			old := c.ll.Back()
			c.ll.Remove(old)
			delete(c.items, old.Value.(*verdictEntry).image)
		}
	}
	return true
}

// VerdictCacheStats are the cache's counters.
type VerdictCacheStats struct {
	Size                                               int
	Hits, Misses, Stale, Fetches, FetchErrors, Dropped uint64
	ServerDown                                         bool
}

// Stats reads the counters.
func (c *VerdictCache) Stats() VerdictCacheStats {
	c.mu.Lock()
	n, down := c.ll.Len(), c.down
	c.mu.Unlock()
	return VerdictCacheStats{Size: n, Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(), Fetches: c.fetches.Load(),
		FetchErrors: c.fetchErrors.Load(), Dropped: c.dropped.Load(), ServerDown: down}
}
