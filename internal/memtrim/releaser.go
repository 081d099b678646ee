package memtrim

import (
	"log/slog"
	"sync"
	"time"
)

// Releaser calls Release once work has been quiet for a while: a burst
// (an assessment, an inventory, a resync) calls Soon when it ends, and the
// release waits for Quiet without another call, and for Every since the
// last one, so a busy host's stream of bursts costs one release a minute,
// not one per burst. A stream that is never quiet (a CI runner's host
// starting containers all day) is released Every after its first call
// waiting, so its memory is bounded too.
type Releaser struct {
	quiet, every time.Duration
	log          *slog.Logger
	release      func() (Stats, error)

	mu      sync.Mutex
	timer   *time.Timer
	last    time.Time
	pending time.Time // the first Soon not yet released
	stopped bool
	runs    int
}

// NewReleaser returns a Releaser; quiet and every default to 5 s and 1 min.
func NewReleaser(log *slog.Logger, quiet, every time.Duration) *Releaser {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if quiet <= 0 {
		quiet = 5 * time.Second
	}
	if every <= 0 {
		every = time.Minute
	}
	return &Releaser{quiet: quiet, every: every, log: log, release: Release}
}

// Soon asks for a release after the current burst.
func (r *Releaser) Soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	now := time.Now()
	if r.pending.IsZero() {
		r.pending = now
	}
	d := min(r.quiet, max(0, r.pending.Add(r.every).Sub(now)))
	if next := r.last.Add(r.every).Sub(now); next > d {
		d = next
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(d, r.run)
		return
	}
	r.timer.Reset(d)
}

// Stop cancels a pending release.
func (r *Releaser) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

// Runs is how many releases have run.
func (r *Releaser) Runs() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runs
}

func (r *Releaser) run() {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	r.last, r.pending = time.Now(), time.Time{}
	r.runs++
	r.mu.Unlock()
	st, err := r.release()
	if err != nil {
		r.log.Debug("memory release: the executable's mappings were kept", "err", err)
		return
	}
	r.log.Debug("memory released after a burst of work", "mappings", st.Mappings, "mapped_bytes", st.Mapped, "skipped", st.Skipped)
}
