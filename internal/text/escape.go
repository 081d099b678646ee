package text

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// isControl reports whether r is a C0 control, DEL or a C1 control: what
// a terminal may act on (ESC starts title changes, cursor moves, OSC 52
// clipboard writes; U+009B is a one-character CSI).
func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f)
}

// Escape returns s with every control character written as an escape
// (\x1b, \n, \u009b), for one field of terminal output: a table cell, a
// log value, an alert line. Text without control characters is returned
// as is; JSON output must not go through it.
func Escape(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		if isControl(r) {
			b.WriteString(escapeRune(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// sgrAllowed are the Select Graphic Rendition sequences Bulwark's own
// tables print (reset, bold, the severity colours); a TerminalWriter
// lets exactly these through when told to.
var sgrAllowed = []string{"\x1b[0m", "\x1b[1m", "\x1b[91m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[36m", "\x1b[37m"}

// TerminalWriter escapes control characters in a text stream bound for a
// terminal (tables printed by code this package does not own): newlines
// and tabs pass, as do, when colors is set, the colour sequences of
// sgrAllowed; every other control character is written escaped, as Escape
// does. It keeps the first write error, which Err returns.
type TerminalWriter struct {
	w       io.Writer
	colors  bool
	pending []byte // an incomplete UTF-8 sequence or escape sequence at the end of the last Write
	err     error
}

// NewTerminalWriter returns a TerminalWriter writing to w.
func NewTerminalWriter(w io.Writer, colors bool) *TerminalWriter {
	return &TerminalWriter{w: w, colors: colors}
}

// Write escapes p and writes it; it reports len(p) on success.
func (t *TerminalWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	data := p
	if len(t.pending) > 0 {
		data = append(t.pending, p...)
		t.pending = nil
	}
	var out bytes.Buffer
	out.Grow(len(data))
	i := 0
	for i < len(data) {
		c := data[i]
		if c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f) {
			out.WriteByte(c)
			i++
			continue
		}
		if c == 0x1b && t.colors {
			rest := data[i:]
			matched, partial := false, false
			for _, s := range sgrAllowed {
				if bytes.HasPrefix(rest, []byte(s)) {
					out.WriteString(s)
					i += len(s)
					matched = true
					break
				}
				if len(rest) < len(s) && strings.HasPrefix(s, string(rest)) {
					partial = true
				}
			}
			if matched {
				continue
			}
			if partial {
				t.pending = append([]byte(nil), rest...)
				break
			}
		}
		if c < 0x80 { // other C0 controls and DEL
			out.WriteString(escapeRune(rune(c)))
			i++
			continue
		}
		if !utf8.FullRune(data[i:]) {
			t.pending = append([]byte(nil), data[i:]...)
			break
		}
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			// Not UTF-8: a raw 0x9b is an 8-bit CSI to some terminals.
			fmt.Fprintf(&out, `\x%02x`, c)
		case isControl(r):
			out.WriteString(escapeRune(r))
		default:
			out.Write(data[i : i+n])
		}
		i += n
	}
	if _, err := t.w.Write(out.Bytes()); err != nil {
		t.err = err
		return 0, err
	}
	return len(p), nil
}

// Flush writes what an incomplete sequence held back, escaped.
func (t *TerminalWriter) Flush() error {
	if t.err != nil || len(t.pending) == 0 {
		return t.err
	}
	p := t.pending
	t.pending = nil
	var out strings.Builder
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			out.WriteString(escapeRune(rune(c)))
		} else if c >= 0x80 {
			out.WriteString(fmt.Sprintf(`\x%02x`, c))
		} else {
			out.WriteByte(c)
		}
	}
	if _, err := io.WriteString(t.w, out.String()); err != nil {
		t.err = err
	}
	return t.err
}

// Err is the first write error.
func (t *TerminalWriter) Err() error { return t.err }
