package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		old     string // at the path before; "" none
		fn      func(io.Writer) error
		want    string // at the path after; "" none
		wantErr bool
	}{
		{"new file", "", func(w io.Writer) error { _, err := io.WriteString(w, "report\n"); return err }, "report\n", false},
		{"replaces", "old\n", func(w io.Writer) error { _, err := io.WriteString(w, "new\n"); return err }, "new\n", false},
		{"writer fails: nothing", "", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "", true},
		{"writer fails: old kept", "old\n", func(w io.Writer) error { io.WriteString(w, "half"); return boom }, "old\n", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.txt")
			if tc.old != "" {
				os.WriteFile(path, []byte(tc.old), 0o600)
			}
			err := Write(path, 0o640, tc.fn)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write: %v, want error %v", err, tc.wantErr)
			}
			b, rerr := os.ReadFile(path)
			if tc.want == "" && !os.IsNotExist(rerr) || tc.want != "" && string(b) != tc.want {
				t.Errorf("file holds %q (%v), want %q", b, rerr, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 1 || len(ents) == 1 && ents[0].Name() != "out.txt" {
				t.Errorf("left in the directory: %v", ents)
			}
			if !tc.wantErr {
				if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
					t.Errorf("mode %v, want 0640", fi.Mode().Perm())
				}
			}
		})
	}
}

// TestStickyWriteError: after a failed write (here, to a closed file, as
// a full disk would fail it) Commit fails and leaves nothing.
func TestStickyWriteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("write to a closed file succeeded")
	}
	if _, err := f.Write([]byte("y")); err == nil {
		t.Fatal("a write after a failed one succeeded")
	}
	if err := f.Commit(); err == nil {
		t.Fatal("Commit succeeded after a write error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file exists after a failed commit: %v", err)
	}
}

// A device or a pipe as the output (-o /dev/null) is written in place: a
// rename over it would replace /dev/null with a regular file. A FIFO stands
// in for the device, so a regression cannot break the machine's /dev/null.
func TestWriteToPipeInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	// The reader end, opened first without blocking, so the writer's open
	// does not wait; what was written sits in the pipe's buffer.
	r, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := Write(path, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "report\n"); return err }); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := r.Read(buf)
	if s := string(buf[:n]); s != "report\n" {
		t.Fatalf("the reader got %q", s)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	if m, _ := filepath.Glob(path + "*.tmp-*"); len(m) > 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

// A symbolic link's target is replaced; the link stays a link.
func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "report.json"), filepath.Join(dir, "latest.json")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := Write(link, 0o644, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
}
