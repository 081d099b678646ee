package progress

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a Reporter that keeps what it was told.
type recorder struct {
	started  []string
	added    int64
	finished int
}

func (r *recorder) Start(desc string, total int64, bytes bool) Bar {
	r.started = append(r.started, desc)
	return r
}
func (r *recorder) Add(n int64)     { r.added += n }
func (r *recorder) Describe(string) {}
func (r *recorder) Finish()         { r.finished++ }

func TestContext(t *testing.T) {
	ctx := context.Background()
	// Without a reporter everything is a no-op.
	b := Start(ctx, "x", 10, false)
	b.Add(3)
	b.Finish()
	BarFrom(ctx).Add(1)

	r := &recorder{}
	ctx = With(ctx, r)
	b = Start(ctx, "download nvd", -1, true)
	n, err := io.Copy(io.Discard, Reader(strings.NewReader("0123456789"), BarFrom(WithBar(ctx, b))))
	if err != nil || n != 10 {
		t.Fatal(n, err)
	}
	b.Finish()
	if len(r.started) != 1 || r.started[0] != "download nvd" || r.added != 10 || r.finished != 1 {
		t.Errorf("recorder = %+v", r)
	}
	if With(context.Background(), nil) != context.Background() {
		t.Error("With(nil) should leave the context as it is")
	}
}

// TestTerminalOnly: no reporter for a file that is not a terminal (a pipe,
// a log file), so nothing is drawn there.
func TestTerminalOnly(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r := Terminal(f); r != nil {
		t.Errorf("Terminal(regular file) = %v, want nil", r)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	if r := Terminal(pw); r != nil {
		t.Errorf("Terminal(pipe) = %v, want nil", r)
	}
}

// TestTerminalDraws: what a terminal gets, and that finishing clears the
// line rather than leaving a bar behind.
func TestTerminalDraws(t *testing.T) {
	var buf bytes.Buffer
	r := &TerminalReporter{w: &buf}
	b := r.Start("analyse layers 0/2", -1, true)
	b.Add(4096)
	b.Describe("analyse layers 2/2")
	b.Finish()
	b.Finish() // twice is fine
	out := buf.String()
	if !strings.Contains(out, "analyse layers 0/2") {
		t.Errorf("nothing drawn: %q", out)
	}
	// The last thing written blanks the line: "\r", spaces, "\r".
	last := out[strings.LastIndex(out, "layers")+len("layers"):]
	i := strings.Index(last, "\r")
	if i < 0 || strings.Trim(last[i:], " \r") != "" || !strings.HasSuffix(last, "\r") {
		t.Errorf("the line is not cleared at the end: %q", last)
	}
}

// TestTerminalLogLines: a log line written while a bar is drawn starts on a
// cleared line, never after the bar's text.
func TestTerminalLogLines(t *testing.T) {
	var buf bytes.Buffer
	r := &TerminalReporter{w: &buf}
	b := r.Start("download nvd", -1, true)
	b.Add(10)
	if _, err := r.Write([]byte("time=… level=WARN msg=x\n")); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	i := strings.Index(out, "time=")
	before := strings.TrimRight(out[:i], " ")
	if !strings.HasSuffix(before, "\r") {
		t.Errorf("log line not on a cleared line: %q", out[max(0, i-60):])
	}
	b.Finish()
	if r.cur != nil {
		t.Error("finished bar still current")
	}
}

// TestTerminalQuietAfterFinish: a finished spinner draws nothing more (the
// library's own redraw goroutine stops).
func TestTerminalQuietAfterFinish(t *testing.T) {
	w := &lockedBuffer{}
	r := &TerminalReporter{w: w}
	b := r.Start("import x, files", -1, false)
	b.Add(1)
	b.Finish()
	n := w.Len()
	time.Sleep(400 * time.Millisecond)
	if w.Len() != n {
		t.Errorf("%d more bytes drawn after Finish", w.Len()-n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}
