package auditd

import "time"

// Joiner groups records by event serial. The kernel writes the records of
// one syscall event together, SYSCALL first and PROCTITLE last (then EOE,
// which auditd may leave out of the log), but records of events on other
// CPUs can interleave. A group is complete at its PROCTITLE or EOE; groups
// still open when more than MaxOpen newer groups started, or when the input
// goes idle (for FlushIdle: for a while), are completed as they are.
type Joiner struct {
	// Done receives every completed group, in the order groups completed.
	Done func(recs []*Record)
	// MaxOpen bounds the open groups (default 8).
	MaxOpen int

	open []*group
	// recent remembers completed serials, so a late EOE or straggler does
	// not start a new group.
	recent [32]uint64
	next   int
}

type group struct {
	serial uint64
	off    int64 // offset of the first record, for checkpoints
	recs   []*Record
	last   time.Time // when its latest record was added (FlushIdle)
}

// Add adds a record read at offset off.
func (j *Joiner) Add(r *Record, off int64) { j.AddAt(r, off, time.Time{}) }

// AddAt is Add for a record read at time now (for FlushIdle).
func (j *Joiner) AddAt(r *Record, off int64, now time.Time) {
	for _, s := range j.recent {
		if s == r.Serial && s != 0 {
			return
		}
	}
	var g *group
	for _, o := range j.open {
		if o.serial == r.Serial {
			g = o
			break
		}
	}
	if g == nil {
		if r.Type == "EOE" {
			return
		}
		g = &group{serial: r.Serial, off: off}
		j.open = append(j.open, g)
	}
	if r.Type != "EOE" {
		g.recs = append(g.recs, r)
	}
	g.last = now
	if r.Type == "EOE" || r.Type == "PROCTITLE" {
		j.complete(g)
	}
	maxOpen := j.MaxOpen
	if maxOpen <= 0 {
		maxOpen = 8
	}
	for len(j.open) > maxOpen {
		j.complete(j.open[0])
	}
}

// Flush completes every open group (the input is idle or ended).
func (j *Joiner) Flush() {
	for len(j.open) > 0 {
		j.complete(j.open[0])
	}
}

// FlushIdle completes the open groups that got no record since cutoff:
// auditd writes an event's records one by one, so a reader that has caught
// up may be between two of them.
func (j *Joiner) FlushIdle(cutoff time.Time) {
	for i := 0; i < len(j.open); {
		if g := j.open[i]; g.last.Before(cutoff) {
			j.complete(g) // removes it from j.open
			continue
		}
		i++
	}
}

// HeldFrom is the offset of the oldest open group's first record, or -1.
func (j *Joiner) HeldFrom() int64 {
	if len(j.open) == 0 {
		return -1
	}
	from := j.open[0].off
	for _, g := range j.open[1:] {
		from = min(from, g.off)
	}
	return from
}

func (j *Joiner) complete(g *group) {
	for i, o := range j.open {
		if o == g {
			j.open = append(j.open[:i], j.open[i+1:]...)
			break
		}
	}
	j.recent[j.next] = g.serial
	j.next = (j.next + 1) % len(j.recent)
	if j.Done != nil && len(g.recs) > 0 {
		j.Done(g.recs)
	}
}
