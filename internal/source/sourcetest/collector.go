package sourcetest

import (
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// Collector gathers the events a source emits, for tests of live sources.
type Collector struct {
	mu  sync.Mutex
	evs []*event.Event
}

// Emit is the source's event.Emit.
func (c *Collector) Emit(e *event.Event) {
	c.mu.Lock()
	c.evs = append(c.evs, e)
	c.mu.Unlock()
}

// Find returns the events so far that match f.
func (c *Collector) Find(f func(*event.Event) bool) []*event.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*event.Event
	for _, e := range c.evs {
		if f(e) {
			out = append(out, e)
		}
	}
	return out
}

// Wait polls until an event matches f, failing the test after the deadline
// (sources deliver asynchronously: this is a deadline, not a timing).
func (c *Collector) Wait(t testing.TB, what string, f func(*event.Event) bool) *event.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if got := c.Find(f); len(got) > 0 {
			return got[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.evs {
		if i >= 50 {
			t.Logf("… and %d more", len(c.evs)-i)
			break
		}
		t.Logf("seen: %s %s %+v %+v %+v", e.Kind, e.Action, e.Process, e.Container, e.Object)
	}
	t.Fatalf("no %s event among %d", what, len(c.evs))
	return nil
}
