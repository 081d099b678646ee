// Package falco reads Falco's JSON output (json_output: true), one alert
// per line, as falco events, so users who already run Falco can feed its
// alerts to the same rules, exceptions and outputs.
package falco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/tail"
)

type alert struct {
	Output       string         `json:"output"`
	Priority     string         `json:"priority"`
	Rule         string         `json:"rule"`
	Time         string         `json:"time"`
	Hostname     string         `json:"hostname"`
	Tags         []string       `json:"tags"`
	OutputFields map[string]any `json:"output_fields"`
}

// Parse decodes one Falco JSON alert. The event keeps b as its Raw
// evidence: the caller must not reuse b.
func Parse(b []byte) (*event.Event, error) {
	var a alert
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // keep pids and ports exact
	if err := d.Decode(&a); err != nil {
		return nil, fmt.Errorf("decoding falco alert: %w", err)
	}
	if d.More() {
		return nil, errors.New("decoding falco alert: data after the alert")
	}
	if a.Rule == "" || a.Priority == "" {
		return nil, errors.New("decoding falco alert: no rule or priority")
	}
	e := &event.Event{
		Source: event.SourceFalco,
		Kind:   event.KindFalco,
		Action: a.Rule,
		Host:   a.Hostname,
		Falco: &event.Falco{
			Rule: a.Rule, Priority: a.Priority, Output: a.Output, Tags: a.Tags,
			Fields: a.OutputFields, Hostname: a.Hostname,
		},
		Raw: b,
	}
	if a.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, a.Time)
		if err != nil {
			return nil, fmt.Errorf("decoding falco alert %q: time: %w", a.Rule, err)
		}
		e.Time = t
	}
	mapFields(e, fields(a.OutputFields))
	// Rules read Fields as plain values: numbers become int64 or float64.
	for k, v := range a.OutputFields {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				a.OutputFields[k] = i
			} else if f, err := n.Float64(); err == nil {
				a.OutputFields[k] = f
			}
		}
	}
	return e, nil
}

type fields map[string]any

func (f fields) str(k string) string {
	switch v := f[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// int returns a numeric field (Falco writes numbers, older versions
// sometimes strings), or def.
func (f fields) int(k string, def int) int {
	var s string
	switch v := f[k].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	default:
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
		return def
	}
	return int(n)
}

// mapFields fills the common event objects from Falco's well-known output
// fields, so rules written for other sources read Falco alerts the same way.
func mapFields(e *event.Event, f fields) {
	if len(f) == 0 {
		return
	}
	if f.str("proc.name") != "" || f.str("proc.cmdline") != "" || f.str("proc.exepath") != "" {
		p := &event.Process{
			PID:           f.int("proc.pid", 0),
			PPID:          f.int("proc.ppid", 0),
			UID:           f.int("user.uid", -1),
			EUID:          f.int("user.uid", -1),
			User:          f.str("user.name"),
			Name:          f.str("proc.name"),
			Exe:           f.str("proc.exepath"),
			Cmdline:       f.str("proc.cmdline"),
			Cwd:           f.str("proc.cwd"),
			ParentName:    f.str("proc.pname"),
			ParentExe:     f.str("proc.pexepath"),
			ParentCmdline: f.str("proc.pcmdline"),
			TTY:           f.int("proc.tty", 0) != 0,
		}
		if p.Exe == "" {
			p.Exe = f.str("proc.exe")
		}
		// proc.cmdline is "name arg1 arg2": quoting is lost, so the split
		// is an approximation.
		p.Args = strings.Fields(p.Cmdline)
		e.Process = p
	}
	if id := f.str("container.id"); id != "" && id != "host" {
		c := &event.Container{
			ID:        id,
			Name:      f.str("container.name"),
			Image:     f.str("container.image.repository"),
			Namespace: f.str("k8s.ns.name"),
			Pod:       f.str("k8s.pod.name"),
		}
		if tag := f.str("container.image.tag"); tag != "" && c.Image != "" {
			c.Image += ":" + tag
		}
		if v, ok := f["container.privileged"].(bool); ok {
			c.Privileged = v
		}
		e.Container = c
	}
	if ip := f.str("fd.sip"); ip != "" {
		e.Net = &event.Conn{
			Proto: f.str("fd.l4proto"),
			SrcIP: f.str("fd.cip"), SrcPort: f.int("fd.cport", 0),
			DstIP: ip, DstPort: f.int("fd.sport", 0),
		}
	}
	if name := f.str("fd.name"); strings.HasPrefix(name, "/") && e.Net == nil {
		e.File = &event.File{Path: name, Op: f.str("evt.type")}
	}
}

// Options configure a Falco reader.
type Options struct {
	// Input is read to its end (stdin, a file). When Path is set instead,
	// the file is followed (rotation, checkpoint) until the context ends.
	Input          io.Reader
	Path           string
	CheckpointPath string
	Poll           time.Duration
	Logger         *slog.Logger
}

// Reader reads Falco alerts. It implements event.Reader.
type Reader struct {
	opts Options
	log  *slog.Logger
	f    *tail.Follower

	events, malformed, skipped atomic.Uint64
}

// NewReader returns a reader over opts.Input, or following opts.Path.
func NewReader(opts Options) (*Reader, error) {
	if (opts.Input == nil) == (opts.Path == "") {
		return nil, errors.New("falco: give exactly one of an input or a path to follow")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("source", "falco")
	r := &Reader{opts: opts, log: log}
	if opts.Path != "" {
		r.f = tail.New(tail.Options{Path: opts.Path, CheckpointPath: opts.CheckpointPath, Poll: opts.Poll, Logger: log.With("path", opts.Path)})
	}
	return r, nil
}

// Name implements event.Reader.
func (r *Reader) Name() string { return "falco" }

// Stats implements event.Reader; over-long lines count as malformed.
func (r *Reader) Stats() event.Stats {
	s := event.Stats{Events: r.events.Load(), Malformed: r.malformed.Load() + r.skipped.Load()}
	if r.f != nil {
		s.Malformed += r.f.Skipped()
	}
	return s
}

// Run reads until the input ends (or, following a file, until ctx ends).
func (r *Reader) Run(ctx context.Context, emit event.Emit) error {
	h := &handler{r: r, emit: emit}
	if r.f != nil {
		return r.f.Run(ctx, h)
	}
	skipped, err := tail.ReadLines(ctx, r.opts.Input, 0, func(line []byte, n int64) { h.Line(line, n) })
	r.skipped.Add(skipped)
	if err != nil {
		return fmt.Errorf("falco: %w", err)
	}
	return nil
}

type handler struct {
	r    *Reader
	emit event.Emit
}

func (h *handler) Line(line []byte, at int64) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	e, err := Parse(bytes.Clone(line))
	if err != nil {
		h.r.malformed.Add(1)
		h.r.log.Warn("malformed falco alert", "at", at, "err", err)
		return
	}
	h.r.events.Add(1)
	h.emit(e)
}

func (h *handler) Idle() {}
