package k8saudit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/tail"
)

// TailerOptions configure the audit log tailer.
type TailerOptions struct {
	// Path is the API server's --audit-log-path (JSON lines).
	Path string
	// CheckpointPath keeps the position across restarts (recommended).
	CheckpointPath string
	Cluster        string
	// Poll is how often the file is checked (default 250ms).
	Poll time.Duration
	// MaxLine bounds one event (default 4 MiB); longer lines are skipped
	// and counted malformed.
	MaxLine int
	// FromEnd starts at the end of the file when there is no checkpoint
	// (default: from the start, so nothing already logged is missed).
	FromEnd bool
	Logger  *slog.Logger
}

// Tailer follows an audit log file. It implements event.Reader.
type Tailer struct {
	opts TailerOptions
	log  *slog.Logger
	f    *tail.Follower
	stats
}

// NewTailer returns a tailer; Run follows the file.
func NewTailer(opts TailerOptions) *Tailer {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("source", "k8s-audit-log", "path", opts.Path)
	return &Tailer{opts: opts, log: log, f: tail.New(tail.Options{
		Path: opts.Path, CheckpointPath: opts.CheckpointPath, Poll: opts.Poll, MaxLine: opts.MaxLine, FromEnd: opts.FromEnd, Logger: log,
	})}
}

// Name implements event.Reader.
func (t *Tailer) Name() string { return "k8s-audit-log" }

// Stats implements event.Reader; over-long lines count as malformed.
func (t *Tailer) Stats() event.Stats {
	s := t.snapshot()
	s.Malformed += t.f.Skipped()
	return s
}

// Run follows the file until ctx ends.
func (t *Tailer) Run(ctx context.Context, emit event.Emit) error {
	return t.f.Run(ctx, &lineHandler{t: t, emit: emit, parser: NewParser()})
}

// lineHandler is called by the follower's one goroutine, so it can keep
// a Parser.
type lineHandler struct {
	t      *Tailer
	emit   event.Emit
	parser *Parser
}

func (h *lineHandler) Line(line []byte, start int64) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	// The event keeps the line as its evidence; the follower reuses its buffer.
	e, err := h.parser.Parse(bytes.Clone(line))
	switch {
	case errors.Is(err, ErrFiltered):
		h.t.filtered.Add(1)
	case err != nil:
		h.t.malformed.Add(1)
		h.t.log.Warn("malformed audit event", "offset", start, "err", err)
	default:
		e.Cluster = h.t.opts.Cluster
		h.t.events.Add(1)
		h.emit(e)
	}
}

func (h *lineHandler) Idle() {}
