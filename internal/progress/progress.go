// Package progress shows long work (layers downloaded and analysed, feed
// downloads and imports) as progress bars on a terminal, and nothing
// anywhere else: pipes, files and CI logs get the structured log lines
// that say the same. Libraries find the reporter in their context
// (progress.From), so reporting adds no parameter to their APIs; without
// one every call is a no-op.
package progress

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar is one piece of work under way.
type Bar interface {
	// Add counts n more units (bytes or items) done.
	Add(n int64)
	// Describe renames the bar ("analyse layers 3/7").
	Describe(desc string)
	// Finish removes the bar: the work is done or abandoned.
	Finish()
}

// Reporter starts bars.
type Reporter interface {
	// Start begins a bar named desc over total units (-1: unknown); bytes
	// says the units are bytes.
	Start(desc string, total int64, bytes bool) Bar
}

type ctxKey struct{}

type barKey struct{}

// WithBar returns ctx carrying b, the bar of the work under way, for
// code that adds to it without knowing it (feed.Get's pages).
func WithBar(ctx context.Context, b Bar) context.Context {
	return context.WithValue(ctx, barKey{}, b)
}

// BarFrom returns the bar ctx carries, or one that shows nothing.
func BarFrom(ctx context.Context) Bar {
	if b, ok := ctx.Value(barKey{}).(Bar); ok {
		return b
	}
	return nop{}
}

// With returns ctx carrying r.
func With(ctx context.Context, r Reporter) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, ctxKey{}, r)
}

// From returns the reporter ctx carries, or one that shows nothing.
func From(ctx context.Context) Reporter {
	if r, ok := ctx.Value(ctxKey{}).(Reporter); ok {
		return r
	}
	return nop{}
}

// Start is From(ctx).Start.
func Start(ctx context.Context, desc string, total int64, bytes bool) Bar {
	return From(ctx).Start(desc, total, bytes)
}

// Reader counts what r delivers on b.
func Reader(r io.Reader, b Bar) io.Reader { return &reader{r: r, b: b} }

type reader struct {
	r io.Reader
	b Bar
}

func (c *reader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.b.Add(int64(n))
	}
	return n, err
}

type nop struct{}

func (nop) Start(string, int64, bool) Bar { return nop{} }
func (nop) Add(int64)                     {}
func (nop) Describe(string)               {}
func (nop) Finish()                       {}

// Terminal is a reporter drawing on f when f is a terminal (and TERM is
// not "dumb"), else nil: no progress in pipes, files or CI logs.
func Terminal(f *os.File) *TerminalReporter {
	if f == nil || !term.IsTerminal(int(f.Fd())) || os.Getenv("TERM") == "dumb" {
		return nil
	}
	return &TerminalReporter{w: f}
}

// TerminalReporter draws one bar at a time (the work it shows is
// sequential per command); a bar started while another runs replaces the
// line.
type TerminalReporter struct {
	w   io.Writer
	mu  sync.Mutex
	cur *bar // the bar drawn last, cleared before other output
}

// Write writes p (log lines) to the terminal after clearing the bar being
// drawn, so the two never share a line; the bar is drawn again on its next
// step.
func (t *TerminalReporter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur != nil {
		_ = t.cur.b.Clear()
	}
	return t.w.Write(p)
}

func (t *TerminalReporter) Start(desc string, total int64, bytes bool) Bar {
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(t.w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetRenderBlankState(true),
	}
	opts = append(opts, progressbar.OptionShowCount())
	if bytes {
		opts = append(opts, progressbar.OptionShowBytes(true))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := &bar{t: t, b: progressbar.NewOptions64(total, opts...)}
	t.cur = b
	return b
}

type bar struct {
	t    *TerminalReporter
	b    *progressbar.ProgressBar
	once sync.Once
}

func (b *bar) Add(n int64) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	_ = b.b.Add64(n)
}

func (b *bar) Describe(desc string) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	b.b.Describe(desc)
}

func (b *bar) Finish() {
	b.once.Do(func() {
		b.t.mu.Lock()
		defer b.t.mu.Unlock()
		// Finish, not Exit: only a finished bar stops the spinner's own
		// redraw goroutine; with OptionClearOnFinish it leaves a blank line,
		// so abandoned work is not shown as complete either.
		_ = b.b.Finish()
		if b.t.cur == b {
			b.t.cur = nil
		}
	})
}
