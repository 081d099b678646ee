package tail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collector records lines; wait blocks until n lines arrived.
type collector struct {
	mu    sync.Mutex
	lines []string
	idle  int
	ch    chan struct{}
}

func newCollector() *collector { return &collector{ch: make(chan struct{}, 1)} }

func (c *collector) Line(b []byte, _ int64) {
	c.mu.Lock()
	c.lines = append(c.lines, string(b))
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

func (c *collector) Idle() {
	c.mu.Lock()
	c.idle++
	c.mu.Unlock()
}

func (c *collector) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func (c *collector) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if g := c.got(); len(g) >= n {
			return g
		}
		select {
		case <-c.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("waited for %d lines, got %q", n, c.got())
		}
	}
}

// idleAfter waits until the follower went idle at least once more, so it
// has seen everything written so far.
func (c *collector) idleAfter(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	start := c.idle
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := c.idle
		c.mu.Unlock()
		if n >= start+2 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("follower never went idle")
}

type run struct {
	cancel context.CancelFunc
	done   chan error
	f      *Follower
}

func start(t *testing.T, opts Options, h Handler) *run {
	t.Helper()
	opts.Poll = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{cancel: cancel, done: make(chan error, 1), f: New(opts)}
	go func() { r.done <- r.f.Run(ctx, h) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

func (r *run) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func numbered(from, to int) (string, []string) {
	var b strings.Builder
	var want []string
	for i := from; i < to; i++ {
		l := fmt.Sprintf("line-%03d", i)
		b.WriteString(l + "\n")
		want = append(want, l)
	}
	return b.String(), want
}

func TestFollow(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	cp := filepath.Join(dir, "cp.json")

	tests := []struct {
		name string
		// step writes to the file while the follower runs; it returns the
		// lines expected in total so far.
		steps []func(t *testing.T) []string
	}{
		{"partial line held until complete", []func(*testing.T) []string{
			func(t *testing.T) []string { appendFile(t, log, "a\nb"); return []string{"a"} },
			func(t *testing.T) []string { appendFile(t, log, "cd\r\n"); return []string{"a", "bcd"} },
		}},
		{"rename rotation", []func(*testing.T) []string{
			func(t *testing.T) []string { appendFile(t, log, "one\ntwo\n"); return []string{"one", "two"} },
			func(t *testing.T) []string {
				appendFile(t, log, "three\n")
				if err := os.Rename(log, log+".1"); err != nil {
					t.Fatal(err)
				}
				appendFile(t, log, "four\n")
				return []string{"one", "two", "three", "four"}
			},
		}},
		{"copytruncate rotation", []func(*testing.T) []string{
			func(t *testing.T) []string { appendFile(t, log, "alpha\nbeta\n"); return []string{"alpha", "beta"} },
			func(t *testing.T) []string {
				if err := os.Truncate(log, 0); err != nil {
					t.Fatal(err)
				}
				appendFile(t, log, "g\n")
				return []string{"alpha", "beta", "g"}
			},
		}},
		{"over-long line skipped, next kept", []func(*testing.T) []string{
			func(t *testing.T) []string {
				appendFile(t, log, strings.Repeat("x", 100)+"\nok\n"+strings.Repeat("y", 50))
				return []string{"ok"}
			},
			func(t *testing.T) []string {
				appendFile(t, log, strings.Repeat("y", 100)+"\nlast\n")
				return []string{"ok", "last"}
			},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(log)
			os.Remove(log + ".1")
			os.Remove(cp)
			appendFile(t, log, "")
			c := newCollector()
			r := start(t, Options{Path: log, CheckpointPath: cp, MaxLine: 64}, c)
			var want []string
			for _, step := range tc.steps {
				want = step(t)
				c.wait(t, len(want))
				c.idleAfter(t)
			}
			if got := c.got(); !slices.Equal(got, want) {
				t.Errorf("lines = %q, want %q", got, want)
			}
			if tc.name == "over-long line skipped, next kept" && r.f.Skipped() != 2 {
				t.Errorf("Skipped = %d, want 2", r.f.Skipped())
			}
		})
	}
}

// TestRestart stops and restarts the follower with the same checkpoint,
// writing and rotating while it is down: every line arrives exactly once.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "kube-audit.log")
	cp := filepath.Join(dir, "cp.json")
	c := newCollector()

	s, want := numbered(0, 10)
	appendFile(t, log, s+"partial-")
	r := start(t, Options{Path: log, CheckpointPath: cp}, c)
	c.wait(t, 10)
	c.idleAfter(t)
	r.stop(t)

	// While stopped: complete the partial line, add more, rotate by rename,
	// and write to the new file.
	appendFile(t, log, "done\n")
	want = append(want, "partial-done")
	s, w := numbered(10, 15)
	appendFile(t, log, s)
	want = append(want, w...)
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	s, w = numbered(15, 20)
	appendFile(t, log, s)
	want = append(want, w...)

	start(t, Options{Path: log, CheckpointPath: cp}, c)
	got := c.wait(t, len(want))
	c.idleAfter(t)
	if got = c.got(); !slices.Equal(got, want) {
		t.Fatalf("after restart:\n got %q\nwant %q", got, want)
	}
}

// TestHolder: the checkpoint never passes a line the handler still holds.
func TestHolder(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "a.log")
	cp := filepath.Join(dir, "cp.json")
	appendFile(t, log, "aaa\nbbb\n")
	h := &holding{}
	r := start(t, Options{Path: log, CheckpointPath: cp}, h)
	deadline := time.Now().Add(10 * time.Second)
	for h.seen.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r.stop(t)
	b, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"offset":4`) {
		t.Errorf("checkpoint %s: want offset 4 (start of the held line)", b)
	}
}

// holding holds the last line it saw and never flushes.
type holding struct{ last, seen atomic.Int64 }

func (h *holding) Line(_ []byte, start int64) { h.last.Store(start); h.seen.Add(1) }
func (h *holding) Idle()                      {}
func (h *holding) HeldFrom() int64            { return h.last.Load() }

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", 200<<10) // longer than bufio's buffer
	tests := []struct {
		name, in string
		max      int
		want     []string
		skipped  uint64
	}{
		{"plain", "a\nb\r\n\nc", 0, []string{"a", "b", "", "c"}, 0},
		{"long line kept under the limit", long + "\nz\n", 300 << 10, []string{long, "z"}, 0},
		{"long line skipped", "a\n" + long + "\nz", 100 << 10, []string{"a", "z"}, 1},
		{"long last line skipped", "a\n" + long, 100 << 10, []string{"a"}, 1},
		{"exactly the limit", "abcd\nabcde\n", 4, []string{"abcd"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var nums []int64
			skipped, err := ReadLines(context.Background(), strings.NewReader(tc.in), tc.max, func(l []byte, n int64) {
				got = append(got, string(l))
				nums = append(nums, n)
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) || skipped != tc.skipped {
				t.Errorf("got %d lines %.40q skipped %d, want %.40q skipped %d", len(got), got, skipped, tc.want, tc.skipped)
			}
			if tc.name == "long line skipped" && !slices.Equal(nums, []int64{1, 3}) {
				t.Errorf("line numbers %v, want [1 3]", nums)
			}
		})
	}
}

// FuzzReadLines: every byte of input is either in a delivered line, a
// separator or a skipped line, and no delivered line exceeds the limit.
func FuzzReadLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\nlonger line here\nz"), 8)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 1 || max > 1<<20 {
			max = 16
		}
		var total int
		skipped, err := ReadLines(context.Background(), strings.NewReader(string(in)), max, func(l []byte, _ int64) {
			if len(l) > max {
				t.Fatalf("line of %d bytes over the limit %d", len(l), max)
			}
			total += len(l)
		})
		if err != nil {
			t.Fatal(err)
		}
		if skipped == 0 && total > len(in) {
			t.Fatalf("%d line bytes from %d input bytes", total, len(in))
		}
		if skipped == 0 && total+strings.Count(string(in), "\n")+strings.Count(string(in), "\r") < len(in) {
			t.Fatalf("lost bytes: %d line bytes from %d input bytes", total, len(in))
		}
	})
}
