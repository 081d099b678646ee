package progress

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
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
	r := &terminal{w: &buf}
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
