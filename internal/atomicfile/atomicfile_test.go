package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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
