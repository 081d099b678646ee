// Package watch is the run-time supervisor: it starts the event sources,
// feeds one engine goroutine through a bounded queue, aggregates the
// firings and delivers them to the sinks, and drains everything on stop.
// `runtime watch` and the agents both run it.
package watch

import (
	"context"
	"hash/maphash"
	"log/slog"
	"math/bits"
	"sync/atomic"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Pipeline is what happens to one event in watch and replay: duplicate
// audit events are dropped, the engine evaluates the rest, and its firings
// go to the aggregator. It is used from one goroutine: the engine owns the
// events.
type Pipeline struct {
	eng  *runtime.Engine
	agg  *alert.Aggregator
	log  *slog.Logger
	seen *auditIDSet
	ctx  context.Context
	// Observer, when set, watches what arrives for rules it blinds.
	Observer *blindspot.Observer
	// Identity, when set, names host and container alerts as the
	// inventory does; one happening seen by two sources (twin rules) is
	// one alert either way.
	Identity *Identity
	twins    *twins
	cur      *event.Event // the event being evaluated (engine goroutine)

	// Counters are read by the stats logger while the engine goroutine
	// writes them.
	duplicates, addErrors, twinsDropped atomic.Uint64
	emit                                func(model.Alert)
}

// dedupeWindow is how many recent audit IDs are remembered. The webhook
// and the log file of one API server carry the same events, usually within
// a second or two of each other; 64k events is minutes of a busy cluster.
const dedupeWindow = 1 << 16

// NewPipeline joins an engine to an aggregator.
func NewPipeline(eng *runtime.Engine, agg *alert.Aggregator, log *slog.Logger) *Pipeline {
	p := &Pipeline{eng: eng, agg: agg, log: log, seen: newAuditIDSet(dedupeWindow), ctx: context.Background(), twins: newTwins()}
	p.emit = func(a model.Alert) {
		if p.Identity != nil {
			rename(&a, p.Identity, p.cur)
		}
		if p.twins.dup(a) {
			p.twinsDropped.Add(1)
			p.log.Debug("runtime alert dropped: the same happening was already alerted by a twin rule", "type", a.Type, "resource", a.Resource.ID)
			return
		}
		// The aggregator's sinks outlive a cancelled watch: shutdown drains
		// them, so alerts raised while stopping are still delivered.
		if err := p.agg.Add(p.ctx, a); err != nil {
			p.addErrors.Add(1)
			p.log.Error("delivering runtime alert", "type", a.Type, "resource", a.Resource.ID, "err", err)
		}
	}
	return p
}

// Duplicates is how many audit events were dropped as already seen.
func (p *Pipeline) Duplicates() uint64 { return p.duplicates.Load() }

// Twins is how many alerts were dropped as a twin rule's second sighting
// of one happening.
func (p *Pipeline) Twins() uint64 { return p.twinsDropped.Load() }

// Handle is an event.Emit.
func (p *Pipeline) Handle(ev *event.Event) {
	if ev == nil {
		return
	}
	// One API server may feed us twice (its webhook backend and its log
	// file): an audit ID already seen is the same request, not a repeat.
	if ev.K8s != nil && ev.K8s.AuditID != "" && !p.seen.add(auditKey{ev.Cluster, ev.K8s.AuditID}) {
		p.duplicates.Add(1)
		return
	}
	if p.Observer != nil {
		p.Observer.Observe(ev)
	}
	if p.Identity != nil {
		p.Identity.observe(ev)
	}
	p.cur = ev
	p.eng.Process(ev, p.emit)
	p.cur = nil
}

// auditKey is one request of one cluster.
type auditKey struct{ cluster, id string }

// auditIDSet remembers the last n keys added (a ring), so memory stays
// bounded under a sustained stream. They are found through an
// open-addressing table of packed uint64 slots (the key's hash, whose top
// bits pick the home slot, with the low bits replaced by ring index + 1;
// 0 is empty), at most half full, with linear probing and deletion by
// backward shift: one or two cache lines per event where a Go map of a
// 64k window took several. The key itself is compared in its ring slot on
// a hash match, so two keys with one hash never make a new event a
// duplicate.
type auditIDSet struct {
	seed    maphash.Seed
	max     int // the bound: the ring grows to it, then wraps
	ring    []auditKey
	hashes  []uint64 // hashes[i] is ring[i]'s
	next    int
	wrapped bool // every ring slot holds a key: next is the oldest
	size    int
	table   []uint64
	shift   uint   // a hash's home slot is h >> shift
	idxMask uint64 // the slot bits holding ring index + 1
}

// auditIDSetStart is the ring's first size: the set grows by doubling to
// its bound, so an agent that never receives an audit event does not hold
// the 64k-key window (4 MiB) of a busy webhook.
const auditIDSetStart = 256

func newAuditIDSet(n int) *auditIDSet {
	idxBits := bits.Len(uint(n)) // n+1 values: 0 is empty
	s := &auditIDSet{seed: maphash.MakeSeed(), max: n, idxMask: 1<<idxBits - 1}
	s.resize(min(n, auditIDSetStart))
	return s
}

// resize makes the ring n keys long and rebuilds the table for it. Only
// before the ring first wraps: ring[0:next] are then exactly the keys held.
func (s *auditIDSet) resize(n int) {
	s.ring = append(s.ring, make([]auditKey, n-len(s.ring))...)
	s.hashes = append(s.hashes, make([]uint64, n-len(s.hashes))...)
	tableBits := bits.Len(uint(2*n - 1)) // at least 2n slots
	s.table, s.shift = make([]uint64, 1<<tableBits), uint(64-tableBits)
	mask := len(s.table) - 1
	for idx, h := range s.hashes[:s.next] {
		i := int(h >> s.shift)
		for s.table[i] != 0 {
			i = (i + 1) & mask
		}
		s.table[i] = h&^s.idxMask | uint64(idx+1)
	}
}

// len is how many keys the set holds.
func (s *auditIDSet) len() int { return s.size }

// add records key and reports whether it was new.
func (s *auditIDSet) add(key auditKey) bool {
	h := maphash.Comparable(s.seed, key)
	tag, mask := h&^s.idxMask, len(s.table)-1
	for i := int(h >> s.shift); s.table[i] != 0; i = (i + 1) & mask {
		if e := s.table[i]; e&^s.idxMask == tag && s.ring[e&s.idxMask-1] == key {
			return false
		}
	}
	if s.wrapped {
		s.remove(s.hashes[s.next], s.next)
	}
	s.ring[s.next], s.hashes[s.next] = key, h
	i := int(h >> s.shift)
	for s.table[i] != 0 {
		i = (i + 1) & mask
	}
	s.table[i] = tag | uint64(s.next+1)
	s.size++
	if s.next++; s.next == len(s.ring) {
		if len(s.ring) < s.max {
			s.resize(min(2*len(s.ring), s.max))
		} else {
			s.next, s.wrapped = 0, true
		}
	}
	return true
}

// remove drops ring slot idx (hash h) from the table, moving later entries
// of its probe run back so lookups need no tombstones.
func (s *auditIDSet) remove(h uint64, idx int) {
	want, mask := h&^s.idxMask|uint64(idx+1), len(s.table)-1
	i := int(h >> s.shift)
	for s.table[i] != want {
		if s.table[i] == 0 {
			return // not held (cannot happen: every ring key is)
		}
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		e := s.table[j]
		if e == 0 {
			break
		}
		// e may fill the hole at i unless its home slot lies cyclically
		// in (i, j].
		if k := int(e >> s.shift); (i < j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			s.table[i] = e
			i = j
		}
	}
	s.table[i] = 0
	s.size--
}
