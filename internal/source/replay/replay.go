// Package replay reads recorded input for forensics and rule testing,
// recognising each line by itself: a Kubernetes audit Event or EventList,
// a Falco JSON alert, a Bulwark event (the JSON of internal/event), or a
// Linux audit record. Lines of different kinds may be mixed in one input.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/source/auditd"
	"github.com/bulwarkdev/bulwark/internal/source/falco"
	"github.com/bulwarkdev/bulwark/internal/source/k8saudit"
	"github.com/bulwarkdev/bulwark/internal/source/tail"
)

// Options configure a replay.
type Options struct {
	// Cluster is stamped on audit events; Host on auditd events without a
	// node= prefix.
	Cluster, Host string
	// MaxLine bounds one line (default 4 MiB); longer lines are skipped and
	// counted malformed.
	MaxLine int
	Logger  *slog.Logger
}

// Format names what a line was recognised as.
type Format string

const (
	FormatK8sAudit     Format = "k8s-audit"
	FormatK8sAuditList Format = "k8s-audit-list"
	FormatFalco        Format = "falco"
	FormatEvent        Format = "event"
	FormatAuditd       Format = "auditd"
	FormatUnknown      Format = ""
)

// probe holds the top-level keys that tell the JSON formats apart; their
// presence is what counts, so they stay raw.
type probe struct {
	Kind       json.RawMessage `json:"kind"`
	APIVersion json.RawMessage `json:"apiVersion"`
	AuditID    json.RawMessage `json:"auditID"`
	Rule       json.RawMessage `json:"rule"`
	Priority   json.RawMessage `json:"priority"`
	Source     json.RawMessage `json:"source"`
}

// Detect recognises one line. The API server writes audit events with
// "kind":"Event" first, so the common case needs no probing decode.
func Detect(line []byte) (Format, error) {
	switch {
	case leadingKind(line) == "Event":
		return FormatK8sAudit, nil
	case leadingKind(line) == "EventList":
		return FormatK8sAuditList, nil
	case bytes.HasPrefix(line, []byte("type=")), bytes.HasPrefix(line, []byte("node=")):
		return FormatAuditd, nil
	case len(line) == 0 || line[0] != '{':
		return FormatUnknown, errors.New("neither JSON nor an audit record")
	}
	var p probe
	if err := json.Unmarshal(line, &p); err != nil {
		return FormatUnknown, fmt.Errorf("decoding JSON: %w", err)
	}
	switch {
	case string(p.Kind) == `"EventList"`:
		return FormatK8sAuditList, nil
	case p.AuditID != nil || bytes.HasPrefix(p.APIVersion, []byte(`"audit.k8s.io/`)):
		return FormatK8sAudit, nil
	case p.Source != nil && p.Kind != nil:
		return FormatEvent, nil
	case p.Rule != nil && p.Priority != nil:
		return FormatFalco, nil
	}
	return FormatUnknown, errors.New("JSON is not an audit event, Falco alert or Bulwark event")
}

// leadingKind returns the value of a JSON object's first key when that key
// is "kind" with a plain string value, else "".
func leadingKind(line []byte) string {
	rest, ok := cutToken(line, "{")
	if !ok {
		return ""
	}
	if rest, ok = cutToken(rest, `"kind"`); !ok {
		return ""
	}
	if rest, ok = cutToken(rest, ":"); !ok {
		return ""
	}
	if rest, ok = cutToken(rest, `"`); !ok {
		return ""
	}
	end := bytes.IndexAny(rest, `"\`)
	if end < 0 || rest[end] != '"' {
		return ""
	}
	if _, ok := cutToken(rest[end+1:], ","); !ok {
		return ""
	}
	return string(rest[:end])
}

// cutToken skips JSON white space and then tok.
func cutToken(b []byte, tok string) ([]byte, bool) {
	b = bytes.TrimLeft(b, " \t\r\n")
	return bytes.CutPrefix(b, []byte(tok))
}

// Read reads r to its end (or until ctx ends) and hands every event to emit.
// Malformed lines are counted and logged with their line number, never
// fatal; the error is only for a failing reader.
func Read(ctx context.Context, r io.Reader, emit event.Emit, opts Options) (event.Stats, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var st event.Stats
	out := func(e *event.Event) {
		st.Events++
		emit(e)
	}
	audit := auditd.NewStream(auditd.BuildOptions{Host: opts.Host}, out, log.With("format", FormatAuditd))
	bad := func(n int64, f Format, err error) {
		st.Malformed++
		log.Warn("malformed line", "line", n, "format", f, "err", err)
	}
	// One Parser for the whole input: recurring strings are shared across
	// events. Lines are copied into shared blocks (the events keep them as
	// Raw and their objects), one allocation per block instead of per line.
	parser := k8saudit.NewParser()
	var lines lineBlocks
	skipped, err := tail.ReadLines(ctx, r, opts.MaxLine, func(line []byte, n int64) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			return
		}
		f, derr := Detect(line)
		if derr != nil {
			bad(n, f, derr)
			return
		}
		switch f {
		case FormatAuditd:
			audit.Line(line, n)
		case FormatK8sAudit:
			e, err := parser.Parse(lines.clone(line))
			switch {
			case errors.Is(err, k8saudit.ErrFiltered):
				st.Filtered++
			case err != nil:
				bad(n, f, err)
			default:
				e.Cluster = opts.Cluster
				out(e)
			}
		case FormatK8sAuditList:
			evs, res, err := parser.ParseListDetail(lines.clone(line))
			if err != nil {
				bad(n, f, err)
				return
			}
			for _, merr := range res.Malformed {
				bad(n, f, merr)
			}
			st.Filtered += uint64(res.Filtered)
			for _, e := range evs {
				e.Cluster = opts.Cluster
				out(e)
			}
		case FormatFalco:
			e, err := falco.Parse(bytes.Clone(line))
			if err != nil {
				bad(n, f, err)
				return
			}
			out(e)
		case FormatEvent:
			e, err := decodeEvent(line)
			if err != nil {
				bad(n, f, err)
				return
			}
			out(e)
		}
	})
	audit.Idle()
	as := audit.Stats()
	st.Malformed += as.Malformed + skipped
	st.Filtered += as.Filtered
	if skipped > 0 {
		log.Warn("over-long lines skipped", "count", skipped)
	}
	if err != nil {
		return st, fmt.Errorf("replay: %w", err)
	}
	return st, nil
}

// lineBlocks copies lines into blocks of lineBlockSize bytes. A block
// stays alive while any event of its lines does; the engine keeps no event
// past Process, so that is a block or two.
type lineBlocks struct{ buf []byte }

const lineBlockSize = 64 << 10

func (lb *lineBlocks) clone(line []byte) []byte {
	if len(line) > lineBlockSize/8 {
		return bytes.Clone(line) // a large line gets its own allocation
	}
	if cap(lb.buf)-len(lb.buf) < len(line) {
		lb.buf = make([]byte, 0, lineBlockSize)
	}
	n := len(lb.buf)
	lb.buf = append(lb.buf, line...)
	return lb.buf[n:len(lb.buf):len(lb.buf)] // capped: an append by the user cannot overwrite the next line
}

// decodeEvent reads a Bulwark event as written by a sink or a rule test.
func decodeEvent(line []byte) (*event.Event, error) {
	var e event.Event
	if err := json.Unmarshal(line, &e); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	if e.Source == "" || e.Kind == "" {
		return nil, errors.New("decoding event: no source or kind")
	}
	return &e, nil
}
