// Package tail follows a line-oriented log file the way audit sources need
// it: across rename and copytruncate rotation, holding a partial last line
// until it is complete, skipping lines longer than a limit, and persisting
// its position (inode + offset) so a restart neither loses nor repeats lines.
package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultMaxLine bounds one line; a longer one is skipped and counted.
const DefaultMaxLine = 4 << 20

// Handler receives the lines of the followed file, in order.
type Handler interface {
	// Line handles one complete line, without its newline. line is only
	// valid during the call. start is the line's byte offset in its file.
	Line(line []byte, start int64)
	// Idle is called when the file has no more data for now, before the
	// position is saved: a handler that holds lines (auditd's record
	// joiner) emits what it holds.
	Idle()
}

// Holder is implemented by handlers that keep lines across calls; HeldFrom
// is the start offset of the oldest line whose events are not yet emitted,
// or -1. The saved position never passes it, so a restart re-reads it.
type Holder interface {
	HeldFrom() int64
}

// Options configure a Follower.
type Options struct {
	Path string
	// CheckpointPath is where the position is saved; empty keeps it in
	// memory only.
	CheckpointPath string
	// Poll is how often the file is checked for new data and rotation
	// (default 250ms).
	Poll time.Duration
	// MaxLine bounds a line (default DefaultMaxLine).
	MaxLine int
	// FromEnd starts at the end of the file when there is no checkpoint
	// (default: from the beginning, so nothing already logged is missed).
	FromEnd bool
	// SaveEvery bounds how long a busy file goes without a checkpoint
	// (default 1s); the position is also saved whenever the file is idle.
	SaveEvery time.Duration
	Logger    *slog.Logger
}

// Checkpoint is the saved position.
type Checkpoint struct {
	Dev    uint64 `json:"dev"`
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

// Follower follows one file. Run it once.
type Follower struct {
	opts    Options
	log     *slog.Logger
	skipped atomic.Uint64
	lines   atomic.Uint64

	f       *os.File
	ino     Checkpoint // identity of f; Offset = bytes consumed (complete lines)
	partial []byte     // bytes after the last newline
	skip    bool       // inside an over-long line: drop until the next newline
	lastCP  Checkpoint
	lastSav time.Time
}

// New returns a Follower for opts.
func New(opts Options) *Follower {
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{opts: opts, log: log.With("path", opts.Path)}
}

// Skipped is the number of over-long lines dropped.
func (t *Follower) Skipped() uint64 { return t.skipped.Load() }

// Lines is the number of lines handed to the handler.
func (t *Follower) Lines() uint64 { return t.lines.Load() }

// Run follows the file until ctx ends, then saves the position and returns
// nil. A missing file is waited for; other I/O errors are returned.
func (t *Follower) Run(ctx context.Context, h Handler) error {
	defer func() {
		if t.f != nil {
			t.f.Close()
		}
	}()
	if err := t.resume(h); err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	tick := time.NewTicker(t.opts.Poll)
	defer tick.Stop()
	for {
		if t.f == nil {
			// The file did not exist at start: when it appears, all of it is new.
			if err := t.open(true); err != nil {
				return err
			}
		}
		if t.f != nil {
			n, err := t.drain(ctx, h, buf)
			if err != nil {
				return err
			}
			if n == 0 {
				h.Idle()
				if err := t.save(h, true); err != nil {
					return err
				}
				if err := t.checkRotation(h, buf); err != nil {
					return err
				}
			}
			if n > 0 && ctx.Err() == nil {
				continue // more may be waiting; poll only when caught up
			}
		}
		select {
		case <-ctx.Done():
			h.Idle()
			return t.save(h, true)
		case <-tick.C:
		}
	}
}

// drain reads what is available now (bounded, so a busy file still lets
// checkpoints and cancellation through) and returns the bytes read.
func (t *Follower) drain(ctx context.Context, h Handler, buf []byte) (int, error) {
	total := 0
	for total < 8<<20 && ctx.Err() == nil {
		n, err := t.f.Read(buf)
		if n > 0 {
			total += n
			t.feed(h, buf[:n])
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			break
		}
		if err != nil {
			return total, fmt.Errorf("reading %s: %w", t.opts.Path, err)
		}
	}
	if total > 0 {
		if err := t.save(h, false); err != nil {
			return total, err
		}
	}
	return total, nil
}

// feed splits data into lines. t.ino.Offset counts consumed bytes, so a
// held partial line is re-read after a restart.
func (t *Follower) feed(h Handler, data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if t.skip {
				t.ino.Offset += int64(len(data))
				return
			}
			if len(t.partial)+len(data) > t.opts.MaxLine {
				t.tooLong()
				t.ino.Offset += int64(len(t.partial) + len(data))
				t.partial = t.partial[:0]
				return
			}
			t.partial = append(t.partial, data...)
			return
		}
		chunk := data[:i]
		data = data[i+1:]
		if t.skip {
			t.skip = false
			t.ino.Offset += int64(i + 1)
			continue
		}
		line := chunk
		if len(t.partial) > 0 {
			t.partial = append(t.partial, chunk...)
			line = t.partial
		}
		start := t.ino.Offset
		t.ino.Offset += int64(len(line) + 1)
		if len(line) > t.opts.MaxLine {
			t.skipped.Add(1)
			t.log.Warn("skipping over-long line", "offset", start, "bytes", len(line), "limit", t.opts.MaxLine)
		} else {
			t.lines.Add(1)
			h.Line(bytes.TrimSuffix(line, []byte{'\r'}), start)
		}
		t.partial = t.partial[:0]
	}
}

func (t *Follower) tooLong() {
	t.skip = true
	t.skipped.Add(1)
	t.log.Warn("skipping over-long line", "offset", t.ino.Offset, "limit", t.opts.MaxLine)
}

// flushPartial hands over a last line without newline when its file is
// rotated away: nobody will complete it.
func (t *Follower) flushPartial(h Handler) {
	if len(t.partial) > 0 && !t.skip {
		start := t.ino.Offset
		t.ino.Offset += int64(len(t.partial))
		t.lines.Add(1)
		h.Line(t.partial, start)
	}
	t.partial = t.partial[:0]
	t.skip = false
}

// checkRotation handles the two rotation styles once the current file is
// drained: rename (the path now names another inode: finish the old file,
// then start the new one at 0) and copytruncate (same inode, shorter than
// our offset: start again at 0).
func (t *Follower) checkRotation(h Handler, buf []byte) error {
	fi, err := os.Stat(t.opts.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // rotated away, new file not created yet
		}
		return fmt.Errorf("stat %s: %w", t.opts.Path, err)
	}
	id := Identity(fi)
	if id.Dev != t.ino.Dev || id.Inode != t.ino.Inode {
		// One more read: the writer may have appended between our EOF and
		// the rename.
		if _, err := t.drain(context.Background(), h, buf); err != nil {
			return err
		}
		t.flushPartial(h)
		h.Idle()
		t.log.Info("file rotated (new inode), following the new file")
		t.f.Close()
		t.f = nil
		return t.open(true)
	}
	if fi.Size() < t.ino.Offset+int64(len(t.partial)) {
		t.log.Info("file truncated (copytruncate), reading from the start", "old_offset", t.ino.Offset, "size", fi.Size())
		t.partial = t.partial[:0]
		t.skip = false
		t.ino.Offset = 0
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("seeking %s: %w", t.opts.Path, err)
		}
		return t.save(h, true)
	}
	return nil
}

// open opens the path; fromStart says a new file after rotation (read it
// all) rather than a first start without checkpoint.
func (t *Follower) open(fromStart bool) error {
	f, err := os.Open(t.opts.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("opening %s: %w", t.opts.Path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat %s: %w", t.opts.Path, err)
	}
	t.f = f
	t.ino = Identity(fi)
	if !fromStart && t.opts.FromEnd {
		if t.ino.Offset, err = f.Seek(0, io.SeekEnd); err != nil {
			return fmt.Errorf("seeking %s: %w", t.opts.Path, err)
		}
	}
	return nil
}

// resume restores the checkpoint. When the checkpointed inode is no longer
// at the path, the file was rotated while we were down: the rest of it is
// read from its rotated name (same directory, same inode) before the new
// file, from its start.
func (t *Follower) resume(h Handler) error {
	cp, ok, err := t.loadCheckpoint()
	if err != nil {
		return err
	}
	if !ok {
		return t.open(false)
	}
	t.lastCP = cp
	fi, err := os.Stat(t.opts.Path)
	if err == nil {
		if id := Identity(fi); id.Dev == cp.Dev && id.Inode == cp.Inode {
			if err := t.open(true); err != nil || t.f == nil {
				return err
			}
			if fi.Size() < cp.Offset {
				t.log.Info("file shorter than checkpoint (truncated while stopped), reading from the start")
				return nil
			}
			t.ino.Offset = cp.Offset
			_, err := t.f.Seek(cp.Offset, io.SeekStart)
			return err
		}
	}
	if old := findInode(filepath.Dir(t.opts.Path), filepath.Base(t.opts.Path), cp); old != "" {
		t.log.Info("file rotated while stopped, finishing the rotated file first", "rotated", old)
		f, err := os.Open(old)
		if err != nil {
			return fmt.Errorf("opening rotated %s: %w", old, err)
		}
		t.f = f
		t.ino = cp
		if _, err := f.Seek(cp.Offset, io.SeekStart); err != nil {
			return fmt.Errorf("seeking %s: %w", old, err)
		}
		buf := make([]byte, 256<<10)
		for {
			n, err := t.drain(context.Background(), h, buf)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
		}
		t.flushPartial(h)
		h.Idle()
		f.Close()
		t.f = nil
	} else {
		t.log.Warn("checkpointed file not found, starting the current file from its start", "inode", cp.Inode)
	}
	return t.open(true)
}

// findInode looks for the rotated file (audit.log.1, kube-audit-….log) by
// inode among the names sharing the base's stem.
func findInode(dir, base string, cp Checkpoint) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	for _, e := range ents {
		if e.Name() == base || !strings.HasPrefix(e.Name(), stem) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if id := Identity(fi); id.Dev == cp.Dev && id.Inode == cp.Inode {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

// Identity is the (device, inode) of a file, offset 0.
func Identity(fi os.FileInfo) Checkpoint {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return Checkpoint{Dev: uint64(st.Dev), Inode: st.Ino}
	}
	return Checkpoint{}
}

// position is what may be saved: never past a line the handler holds.
func (t *Follower) position(h Handler) Checkpoint {
	cp := t.ino
	if hd, ok := h.(Holder); ok {
		if from := hd.HeldFrom(); from >= 0 && from < cp.Offset {
			cp.Offset = from
		}
	}
	return cp
}

// save writes the checkpoint atomically (temp file + rename) when it
// changed; unless force, at most every SaveEvery.
func (t *Follower) save(h Handler, force bool) error {
	if t.opts.CheckpointPath == "" || t.f == nil {
		return nil
	}
	cp := t.position(h)
	if cp == t.lastCP || (!force && time.Since(t.lastSav) < t.opts.SaveEvery) {
		return nil
	}
	if err := WriteCheckpoint(t.opts.CheckpointPath, cp); err != nil {
		return err
	}
	t.lastCP, t.lastSav = cp, time.Now()
	return nil
}

func (t *Follower) loadCheckpoint() (Checkpoint, bool, error) {
	if t.opts.CheckpointPath == "" {
		return Checkpoint{}, false, nil
	}
	b, err := os.ReadFile(t.opts.CheckpointPath)
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("reading checkpoint %s: %w", t.opts.CheckpointPath, err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil || cp.Offset < 0 {
		// A damaged checkpoint must not stop the source: start over and say so.
		t.log.Warn("ignoring unreadable checkpoint", "checkpoint", t.opts.CheckpointPath, "err", err)
		return Checkpoint{}, false, nil
	}
	return cp, true, nil
}

// WriteCheckpoint writes cp to path atomically.
func WriteCheckpoint(path string, cp Checkpoint) error {
	b, _ := json.Marshal(cp)
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing checkpoint %s: %w", path, err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing checkpoint %s: %w", path, werr)
	}
	return nil
}
