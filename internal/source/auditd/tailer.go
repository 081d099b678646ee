package auditd

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/tail"
)

// Stream turns audit log lines into events: it parses, joins by serial and
// builds. It is the tail.Handler of Tailer and what replay feeds recorded
// lines to.
type Stream struct {
	opts BuildOptions
	emit event.Emit
	log  *slog.Logger
	j    Joiner
	// settle, when set, is how long an open event may wait for more of its
	// records when the input goes idle (a live log: auditd may be between
	// two writes); 0 completes open events at once (recorded input).
	settle time.Duration
	now    func() time.Time

	events, malformed, filtered atomic.Uint64
}

// NewStream returns a Stream handing events to emit.
func NewStream(opts BuildOptions, emit event.Emit, log *slog.Logger) *Stream {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stream{opts: opts, emit: emit, log: log, now: time.Now}
	s.j.Done = s.done
	return s
}

// Line handles one log line; off identifies it in logs (a byte offset, or
// a line number for recorded input).
func (s *Stream) Line(line []byte, off int64) {
	if len(line) == 0 {
		return
	}
	r, err := ParseRecord(line)
	if err != nil {
		s.malformed.Add(1)
		s.log.Warn("malformed audit record", "offset", off, "err", err)
		return
	}
	if s.settle > 0 {
		s.j.AddAt(r, off, s.now())
		return
	}
	s.j.Add(r, off)
}

// Idle completes the events still open (with settle, those open for that
// long; the others are held, and re-read after a restart if it comes
// first).
func (s *Stream) Idle() {
	if s.settle > 0 {
		s.j.FlushIdle(s.now().Add(-s.settle))
		return
	}
	s.j.Flush()
}

// HeldFrom implements tail.Holder: records of open events are re-read
// after a restart rather than lost.
func (s *Stream) HeldFrom() int64 { return s.j.HeldFrom() }

// Stats are the stream's counters.
func (s *Stream) Stats() event.Stats {
	return event.Stats{Events: s.events.Load(), Malformed: s.malformed.Load(), Filtered: s.filtered.Load()}
}

func (s *Stream) done(recs []*Record) {
	e, err := Build(recs, s.opts)
	switch {
	case errors.Is(err, ErrFiltered):
		s.filtered.Add(1)
	case err != nil:
		s.malformed.Add(1)
		s.log.Warn("audit event", "serial", recs[0].Serial, "err", err)
	default:
		s.events.Add(1)
		s.emit(e)
	}
}

// settle is how long the live tailer lets an event wait for the rest of
// its records: auditd writes them within microseconds, except on a busy
// node.
const settle = 200 * time.Millisecond

// Options configure the audit log tailer.
type Options struct {
	// Path is auditd's log (default /var/log/audit/audit.log).
	Path string
	// CheckpointPath keeps the position across restarts.
	CheckpointPath string
	// Host names the node (default: the host name).
	Host string
	// ProcRoot is where processes are looked up for their container
	// (default /proc).
	ProcRoot string
	// FromEnd starts at the end of the log when there is no checkpoint
	// (an agent's first start should not replay the whole history).
	FromEnd bool
	Poll    time.Duration
	Logger  *slog.Logger
}

// Tailer follows auditd's log. It implements event.Reader.
type Tailer struct {
	opts Options
	log  *slog.Logger
	f    *tail.Follower
	s    atomic.Pointer[Stream]
}

// NewTailer returns a tailer; Run follows the log.
func NewTailer(opts Options) *Tailer {
	if opts.Path == "" {
		opts.Path = "/var/log/audit/audit.log"
	}
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.Host == "" {
		opts.Host, _ = os.Hostname()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("source", "auditd", "path", opts.Path)
	return &Tailer{opts: opts, log: log, f: tail.New(tail.Options{
		Path: opts.Path, CheckpointPath: opts.CheckpointPath, Poll: opts.Poll, MaxLine: MaxLine, FromEnd: opts.FromEnd, Logger: log,
	})}
}

// Name implements event.Reader.
func (t *Tailer) Name() string { return "auditd" }

// Stats implements event.Reader.
func (t *Tailer) Stats() event.Stats {
	var st event.Stats
	if s := t.s.Load(); s != nil {
		st = s.Stats()
	}
	st.Malformed += t.f.Skipped()
	return st
}

// Run follows the log until ctx ends.
func (t *Tailer) Run(ctx context.Context, emit event.Emit) error {
	s := NewStream(BuildOptions{Host: t.opts.Host, ProcRoot: t.opts.ProcRoot}, emit, t.log)
	s.settle = settle
	t.s.Store(s)
	return t.f.Run(ctx, s)
}
