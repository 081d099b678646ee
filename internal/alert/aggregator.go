package alert

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// AggregatorOptions tune an Aggregator. Zero values take the defaults.
type AggregatorOptions struct {
	Window      time.Duration // repeats within this time of the first firing join it; default 10m
	MaxEvidence int           // evidence entries kept per alert; default 5
	MaxOpen     int           // open aggregates kept; beyond it the oldest is closed early; default 10000
	Tick        time.Duration // how often Run looks for closed windows; default 1s
	Now         func() time.Time
	Logger      *slog.Logger
}

// AggregatorStats counts what an Aggregator did.
type AggregatorStats struct {
	Open    int   // aggregates whose window is open now
	Alerts  int64 // new alerts sent (first firings)
	Updates int64 // final-count updates sent when a window closed
	Evicted int64 // aggregates closed early because MaxOpen was reached
	Errors  int64 // sink sends that failed
}

// Aggregator turns rule firings into alerts: the first firing of a (type,
// resource) is sent at once; repeats within the window only update the
// count, last_seen and evidence, and one update with the final count is sent
// when the window closes.
//
// Windows run on event time, not wall time, so a replay of an old log
// aggregates exactly like the live stream did. The aggregator's clock is the
// latest event time seen, advanced by the wall time elapsed since that event
// arrived, so idle windows still close.
type Aggregator struct {
	opts AggregatorOptions
	sink Sink
	log  *slog.Logger

	mu        sync.Mutex
	open      map[aggKey]*aggregate
	byEnd     endHeap // open aggregates by window end; the top is the oldest
	watermark time.Time
	wmWall    time.Time
	stats     AggregatorStats

	// sendMu is taken before mu is released so alerts reach the sink in the
	// order they were decided (a first firing before its update) while the
	// next Add already works on the state.
	sendMu sync.Mutex
}

type aggKey struct{ typ, resource string }

type aggregate struct {
	key   aggKey
	alert model.Alert
	end   time.Time // FirstSeen + Window
	sent  int       // Count when last sent
}

// NewAggregator returns an Aggregator that sends to sink.
func NewAggregator(opts AggregatorOptions, sink Sink) *Aggregator {
	if opts.Window <= 0 {
		opts.Window = 10 * time.Minute
	}
	if opts.MaxEvidence <= 0 {
		opts.MaxEvidence = 5
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 10000
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Aggregator{opts: opts, sink: sink, log: log, open: make(map[aggKey]*aggregate)}
}

// AlertID is the stable id of the alert of one type on one resource first
// seen at firstSeen.
func AlertID(typ, resourceID string, firstSeen time.Time) string {
	var buf [256]byte
	b := append(buf[:0], typ...)
	b = append(b, 0)
	b = append(b, resourceID...)
	b = append(b, 0)
	b = firstSeen.UTC().AppendFormat(b, time.RFC3339Nano)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// maxFutureSkew is how far ahead of the wall clock an event time may move
// the aggregator's clock.
const maxFutureSkew = time.Minute

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Add takes one rule firing (Count 1, FirstSeen = LastSeen = event time, one
// evidence entry). It returns the sink's error when an alert had to be sent.
func (g *Aggregator) Add(ctx context.Context, a model.Alert) error {
	t := a.LastSeen
	if t.IsZero() {
		t = a.FirstSeen
	}
	n := a.Count
	if n <= 0 {
		n = 1
	}
	g.mu.Lock()
	if t.IsZero() {
		t = g.opts.Now()
	}
	// A clock far ahead on one node must not close every window at once:
	// event time moves the clock only up to a little past the wall clock.
	wall := g.opts.Now()
	if wm := minTime(t, wall.Add(maxFutureSkew)); wm.After(g.watermark) {
		g.watermark, g.wmWall = wm, wall
	}
	out := g.expireLocked(g.clockLocked())
	key := aggKey{a.Type, a.Resource.ID}
	if ag, ok := g.open[key]; ok {
		ag.alert.Count += n
		if t.After(ag.alert.LastSeen) {
			ag.alert.LastSeen = t
		}
		g.addEvidenceLocked(ag, a.Evidence)
	} else {
		if len(g.open) >= g.opts.MaxOpen {
			old := g.byEnd.pop()
			delete(g.open, old.key)
			g.stats.Evicted++
			if g.log.Enabled(ctx, slog.LevelDebug) {
				g.log.Debug("aggregation window closed early: too many open alerts", "alert", old.alert.ID, "type", old.key.typ, "max_open", g.opts.MaxOpen)
			}
			out = g.closeLocked(old, out)
		}
		first := a.FirstSeen
		if first.IsZero() || first.After(t) {
			first = t
		}
		al := a
		al.FirstSeen, al.LastSeen, al.Count = first.UTC(), t.UTC(), n
		al.ID = AlertID(a.Type, a.Resource.ID, first)
		al.Status = model.AlertActive
		al.Evidence = nil
		ag := &aggregate{key: key, alert: al, end: first.Add(g.opts.Window), sent: n}
		g.addEvidenceLocked(ag, a.Evidence)
		g.open[key] = ag
		g.byEnd.push(ag)
		g.stats.Alerts++
		out = append(out, snapshot(ag.alert))
	}
	return g.send(ctx, out)
}

// addEvidenceLocked keeps the first MaxEvidence-1 entries and the latest in
// the last slot: how it started and where it is now.
func (g *Aggregator) addEvidenceLocked(ag *aggregate, ev []model.Evidence) {
	for _, e := range ev {
		switch {
		case len(ag.alert.Evidence) < g.opts.MaxEvidence:
			ag.alert.Evidence = append(ag.alert.Evidence, e)
		default:
			ag.alert.Evidence[len(ag.alert.Evidence)-1] = e
		}
	}
}

// Flush closes the windows that have ended by the aggregator's clock and
// sends their updates.
func (g *Aggregator) Flush(ctx context.Context) error {
	g.mu.Lock()
	out := g.expireLocked(g.clockLocked())
	return g.send(ctx, out)
}

// Drain closes every open window now (end of a replay, shutdown) and sends
// the updates, oldest first.
func (g *Aggregator) Drain(ctx context.Context) error {
	g.mu.Lock()
	var out []model.Alert
	for g.byEnd.Len() > 0 {
		ag := g.byEnd.pop()
		delete(g.open, ag.key)
		out = g.closeLocked(ag, out)
	}
	return g.send(ctx, out)
}

// Run calls Flush every Tick until ctx ends, then returns. Call Drain after
// it to send what is still open.
func (g *Aggregator) Run(ctx context.Context) error {
	tk := time.NewTicker(g.opts.Tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tk.C:
			if err := g.Flush(ctx); err != nil {
				g.log.Error("flushing alert aggregates", "err", err)
			}
		}
	}
}

// Stats returns counters; safe at any time.
func (g *Aggregator) Stats() AggregatorStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.stats
	s.Open = len(g.open)
	return s
}

func (g *Aggregator) clockLocked() time.Time {
	if g.watermark.IsZero() {
		return g.opts.Now()
	}
	return g.watermark.Add(g.opts.Now().Sub(g.wmWall))
}

func (g *Aggregator) expireLocked(now time.Time) []model.Alert {
	var out []model.Alert
	for g.byEnd.Len() > 0 && g.byEnd[0].end <= now.UnixNano() {
		ag := g.byEnd.pop()
		delete(g.open, ag.key)
		out = g.closeLocked(ag, out)
	}
	return out
}

func (g *Aggregator) closeLocked(ag *aggregate, out []model.Alert) []model.Alert {
	if ag.alert.Count > ag.sent {
		g.stats.Updates++
		out = append(out, snapshot(ag.alert))
	}
	return out
}

// send is called with mu held and releases it, holding sendMu meanwhile so
// the order of decisions is the order of delivery.
func (g *Aggregator) send(ctx context.Context, out []model.Alert) error {
	if len(out) == 0 {
		g.mu.Unlock()
		return nil
	}
	g.sendMu.Lock()
	g.mu.Unlock()
	defer g.sendMu.Unlock()
	var first error
	for _, a := range out {
		if err := g.sink.Send(ctx, a); err != nil {
			g.mu.Lock()
			g.stats.Errors++
			g.mu.Unlock()
			if first == nil {
				first = fmt.Errorf("sending alert %s (%s): %w", a.ID, a.Type, err)
			}
		}
	}
	return first
}

// snapshot copies what the aggregator keeps mutating, so a sink may hold the
// alert after Send returns.
func snapshot(a model.Alert) model.Alert {
	a.Evidence = append([]model.Evidence(nil), a.Evidence...)
	return a
}

// endHeap orders open aggregates by window end. The end is copied into the
// entry so comparisons do not chase pointers into cold aggregates.
type endHeap []heapEntry

type heapEntry struct {
	end int64 // UnixNano of the aggregate's window end
	ag  *aggregate
}

func (h endHeap) Len() int           { return len(h) }
func (h endHeap) Less(i, j int) bool { return h[i].end < h[j].end }
func (h endHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *endHeap) Push(x any)        { *h = append(*h, x.(heapEntry)) }
func (h *endHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = heapEntry{}
	*h = old[:len(old)-1]
	return e
}

func (h *endHeap) push(ag *aggregate) { heap.Push(h, heapEntry{end: ag.end.UnixNano(), ag: ag}) }
func (h *endHeap) pop() *aggregate    { return heap.Pop(h).(heapEntry).ag }
