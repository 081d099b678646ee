package feed

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestState(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nvd-state.json")
	if s, err := ReadState(p); err != nil || !s.Until.IsZero() {
		t.Fatalf("missing state: %v %v", s, err)
	}
	want := State{Until: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
	if err := WriteState(p, want); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadState(p); err != nil || !s.Until.Equal(want.Until) {
		t.Errorf("state %v %v", s, err)
	}
	os.WriteFile(p, []byte("{"), 0o644)
	if _, err := ReadState(p); err == nil {
		t.Error("corrupt state read")
	}
}
