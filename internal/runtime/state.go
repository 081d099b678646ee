package runtime

import "time"

// Correlation state: one small entry per key, in a least-recently-used list
// capped at maxKeys, and expired by event time (entries older than the
// window are dropped from the cold end whenever a key is touched). So memory
// is bounded by maxKeys × the per-entry cap, whatever the stream.

// maxCaptured caps the values a sequence keeps per key (the newest win).
const maxCaptured = 16

type entry struct {
	key        string
	prev, next *entry
	last       time.Time // newest event time seen for the key

	times    []time.Time          // correlate without distinct: match times (≤ threshold)
	distinct map[string]time.Time // correlate with distinct: value → last seen (≤ threshold)
	captured []captured           // sequence: first-step captures (≤ maxCaptured)
}

type captured struct {
	at    time.Time
	value string
}

type lru struct {
	max        int
	m          map[string]*entry
	head, tail *entry // head is the most recently used
}

func newLRU(max int) *lru { return &lru{max: max, m: map[string]*entry{}} }

func (l *lru) len() int { return len(l.m) }

// get returns the entry for key, or nil; it does not create.
func (l *lru) get(key string) *entry { return l.m[key] }

// touch returns the entry for key, creating it, and marks it most recent.
// now is the event time; entries idle for longer than window before it are
// expired first.
func (l *lru) touch(key string, now time.Time, window time.Duration) *entry {
	l.expire(now, window)
	e := l.m[key]
	if e == nil {
		if len(l.m) >= l.max {
			l.remove(l.tail)
		}
		e = &entry{key: key}
		l.m[key] = e
	} else {
		l.unlink(e)
	}
	e.next = l.head
	if l.head != nil {
		l.head.prev = e
	}
	l.head = e
	if l.tail == nil {
		l.tail = e
	}
	if now.After(e.last) {
		e.last = now
	}
	return e
}

// expire drops least-recently-used entries whose last event is older than
// the window (event time may go backwards a little across sources, so this
// is a bound, not exact order).
func (l *lru) expire(now time.Time, window time.Duration) {
	cut := now.Add(-window)
	for l.tail != nil && l.tail.last.Before(cut) {
		l.remove(l.tail)
	}
}

func (l *lru) remove(e *entry) {
	if e == nil {
		return
	}
	l.unlink(e)
	delete(l.m, e.key)
}

func (l *lru) unlink(e *entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if l.head == e {
		l.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if l.tail == e {
		l.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

// pruneTimes drops match times older than cut.
func pruneTimes(ts []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(ts) && ts[i].Before(cut) {
		i++
	}
	return ts[i:]
}
