package main

import (
	"context"
	"hash/maphash"
	"log/slog"
	"os"
	"runtime/debug"
	"sync/atomic"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// pipeline is what happens to one event in watch and replay: duplicate
// audit events are dropped, the engine evaluates the rest, and its firings
// go to the aggregator. It is used from one goroutine: the engine owns the
// events.
type pipeline struct {
	eng  *runtime.Engine
	agg  *alert.Aggregator
	log  *slog.Logger
	seen *auditIDSet
	ctx  context.Context

	// Counters are read by the stats logger while the engine goroutine
	// writes them.
	duplicates, addErrors atomic.Uint64
	emit                  func(model.Alert)
}

// dedupeWindow is how many recent audit IDs are remembered. The webhook
// and the log file of one API server carry the same events, usually within
// a second or two of each other; 64k events is minutes of a busy cluster.
const dedupeWindow = 1 << 16

func newPipeline(eng *runtime.Engine, agg *alert.Aggregator, log *slog.Logger) *pipeline {
	p := &pipeline{eng: eng, agg: agg, log: log, seen: newAuditIDSet(dedupeWindow), ctx: context.Background()}
	p.emit = func(a model.Alert) {
		// The aggregator's sinks outlive a cancelled watch: shutdown drains
		// them, so alerts raised while stopping are still delivered.
		if err := p.agg.Add(p.ctx, a); err != nil {
			p.addErrors.Add(1)
			p.log.Error("delivering runtime alert", "type", a.Type, "resource", a.Resource.ID, "err", err)
		}
	}
	return p
}

// handle is an event.Emit.
func (p *pipeline) handle(ev *event.Event) {
	if ev == nil {
		return
	}
	// One API server may feed us twice (its webhook backend and its log
	// file): an audit ID already seen is the same request, not a repeat.
	if ev.K8s != nil && ev.K8s.AuditID != "" && !p.seen.add(auditKey{ev.Cluster, ev.K8s.AuditID}) {
		p.duplicates.Add(1)
		return
	}
	p.eng.Process(ev, p.emit)
}

// auditKey is one request of one cluster.
type auditKey struct{ cluster, id string }

// auditIDSet remembers the last n keys added (a ring over a map), so memory
// stays bounded under a sustained stream. The map is keyed by the key's
// hash and points at its ring slot, where the key itself is compared: a
// map of small fixed-size entries is cheaper to probe than one of string
// pairs. Two keys with one hash (odds 2^-64) only make the older one
// forgettable early, never a new event a duplicate.
type auditIDSet struct {
	seed   maphash.Seed
	ring   []auditKey
	hashes []uint64
	next   int
	m      map[uint64]int32
}

func newAuditIDSet(n int) *auditIDSet {
	return &auditIDSet{seed: maphash.MakeSeed(), ring: make([]auditKey, n), hashes: make([]uint64, n),
		m: make(map[uint64]int32, n)}
}

// add records key and reports whether it was new.
func (s *auditIDSet) add(key auditKey) bool {
	h := maphash.Comparable(s.seed, key)
	if i, ok := s.m[h]; ok && s.ring[i] == key {
		return false
	}
	if old := s.ring[s.next]; old.id != "" {
		if oh := s.hashes[s.next]; s.m[oh] == int32(s.next) {
			delete(s.m, oh)
		}
	}
	s.ring[s.next], s.hashes[s.next] = key, h
	s.m[h] = int32(s.next)
	s.next = (s.next + 1) % len(s.ring)
	return true
}

// Replay allocates a little per event and keeps little live (correlation
// state, held alerts), so at the default GOGC=100 the collector took ~12% of
// the replay's CPU. replayGC lets the heap grow to 3× the live data between
// collections (~6%): memory stays proportional to the live data, which the
// engine's and aggregator's caps bound. No memory limit: near a limit below
// the live data the collector would run continuously. GOGC or GOMEMLIMIT in
// the environment win. The returned func restores the previous setting.
func replayGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(replayGCPercent)
	return func() { debug.SetGCPercent(old) }
}

const replayGCPercent = 200
