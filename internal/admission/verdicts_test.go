package admission

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// fakeVerdicts answers from a map; down makes every fetch fail.
type fakeVerdicts struct {
	mu    sync.Mutex
	all   *model.ImageVerdict // when set, the answer for every image
	known map[string]model.ImageVerdict
	down  bool
	asked []string
}

func (f *fakeVerdicts) ImageVerdicts(ctx context.Context, images []string) ([]model.ImageVerdict, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, images...)
	if f.down {
		return nil, errors.New("connection refused")
	}
	out := make([]model.ImageVerdict, len(images))
	for i, img := range images {
		out[i] = f.known[img]
		if f.all != nil {
			out[i] = *f.all
		}
		out[i].Image = img
	}
	return out, nil
}

func (f *fakeVerdicts) set(fn func(f *fakeVerdicts)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeVerdicts) askedCount(img string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.asked {
		if a == img {
			n++
		}
	}
	return n
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestVerdictCache(t *testing.T) {
	vuln := model.ImageVerdict{Known: true, Digest: "sha256:aa", Verdict: model.VerdictUnhealthy, Counts: model.Counts{Critical: 2, Total: 2}}
	src := &fakeVerdicts{known: map[string]model.ImageVerdict{"shop:1": vuln}}
	clk := &fakeClock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	c := NewVerdictCache(VerdictCacheOptions{Source: src, Size: 2, TTL: time.Minute, UnknownTTL: 10 * time.Second, RetryAfter: 10 * time.Millisecond, Now: clk.now})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)

	// A miss answers unknown at once and is filled in the background.
	if _, known := c.Lookup("shop:1"); known {
		t.Fatal("first lookup known")
	}
	eventually(t, "shop:1 filled", func() bool { _, k := c.Lookup("shop:1"); return k })
	if v, _ := c.Lookup("shop:1"); v.Counts.Critical != 2 || v.Image != "shop:1" {
		t.Errorf("verdict = %+v", v)
	}
	// Fresh: not asked again.
	n := src.askedCount("shop:1")
	c.Lookup("shop:1")
	time.Sleep(20 * time.Millisecond)
	if got := src.askedCount("shop:1"); got != n {
		t.Errorf("fresh verdict fetched again: %d → %d", n, got)
	}
	// Past the TTL: the held verdict answers while it is fetched again.
	clk.add(2 * time.Minute)
	if _, known := c.Lookup("shop:1"); !known {
		t.Error("stale verdict not answered")
	}
	eventually(t, "stale verdict refetched", func() bool { return src.askedCount("shop:1") > n })

	// The server does not know an image: believed for UnknownTTL only.
	c.Lookup("new:1")
	eventually(t, "new:1 asked", func() bool { return src.askedCount("new:1") == 1 })
	eventually(t, "new:1 held as unknown", func() bool { return c.Stats().Size == 2 })
	src.set(func(f *fakeVerdicts) { f.known["new:1"] = vuln })
	if _, known := c.Lookup("new:1"); known {
		t.Error("new:1 known before asked again")
	}
	clk.add(11 * time.Second)
	c.Lookup("new:1")
	eventually(t, "new:1 known after UnknownTTL", func() bool { _, k := c.Lookup("new:1"); return k })

	// The server goes away: verdicts held are kept, unknown images stay
	// unknown, the failure is counted.
	src.set(func(f *fakeVerdicts) { f.down = true })
	clk.add(2 * time.Minute)
	c.Lookup("shop:1")
	c.Lookup("other:1")
	eventually(t, "fetch failed", func() bool { return c.Stats().FetchErrors > 0 })
	if v, known := c.Lookup("shop:1"); !known || v.Counts.Critical != 2 {
		t.Errorf("last good verdict lost while the server is down: %+v", v)
	}
	if _, known := c.Lookup("other:1"); known {
		t.Error("other:1 known with the server down")
	}
	if !c.Stats().ServerDown {
		t.Error("stats do not say the server is down")
	}
	src.set(func(f *fakeVerdicts) { f.down = false })
	eventually(t, "server back", func() bool { c.Lookup("other:1"); return !c.Stats().ServerDown })

	// Bounded: the least recently used image goes.
	eventually(t, "other:1 held", func() bool { return c.Stats().Size == 2 })
	c.mu.Lock()
	_, hasNew := c.items["new:1"]
	_, hasShop := c.items["shop:1"]
	c.mu.Unlock()
	if hasNew || !hasShop {
		t.Errorf("held new:1 %v (least recently used: want dropped), shop:1 %v (want kept)", hasNew, hasShop)
	}
}

// TestVerdictCacheHotRefresh: verdicts reviews use are fetched again
// before they expire.
func TestVerdictCacheHotRefresh(t *testing.T) {
	src := &fakeVerdicts{known: map[string]model.ImageVerdict{"hot:1": {Known: true}}}
	c := NewVerdictCache(VerdictCacheOptions{Source: src, TTL: 2 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	c.Lookup("hot:1")
	eventually(t, "filled", func() bool { _, k := c.Lookup("hot:1"); return k })
	time.Sleep(1100 * time.Millisecond) // past TTL/2: the next refresh pass takes it
	c.Lookup("hot:1")
	eventually(t, "refreshed before expiry", func() bool { return src.askedCount("hot:1") >= 2 })
	if c.Stats().Stale != 0 {
		t.Errorf("a hot verdict went stale: %+v", c.Stats())
	}
}
