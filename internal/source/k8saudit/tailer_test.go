package k8saudit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// auditLine is one log line of the exec event with a unique audit id.
func auditLine(t *testing.T, n int) string {
	t.Helper()
	b, err := os.ReadFile("testdata/events/exec-into-pod.json")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(strings.TrimSpace(string(b)), "8d1c2b3a-0000-4000-8000-000000000004", fmt.Sprintf("id-%03d", n), 1) + "\n"
}

type sink struct {
	mu  sync.Mutex
	ids []string
}

func (s *sink) emit(e *event.Event) {
	s.mu.Lock()
	s.ids = append(s.ids, e.K8s.AuditID)
	s.mu.Unlock()
}

func (s *sink) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		got := slices.Clone(s.ids)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.Fatalf("waited for %d events, got %v", n, s.ids)
	return nil
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestTailer follows a real file through filtered, malformed and over-long
// lines, a rename rotation and a restart from the checkpoint.
func TestTailer(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "kube-audit.log")
	cp := filepath.Join(dir, "audit.pos")
	filtered, _ := os.ReadFile("testdata/events/request-received-filtered.json")
	appendTo(t, log, auditLine(t, 1)+string(filtered)+"{\"auditID\": trunc\n"+auditLine(t, 2)+
		`{"pad":"`+strings.Repeat("x", 5000)+"\"}\n"+auditLine(t, 3))

	s := &sink{}
	run := func() (context.CancelFunc, *Tailer, chan error) {
		tl := NewTailer(TailerOptions{Path: log, CheckpointPath: cp, Cluster: "c", Poll: 5 * time.Millisecond, MaxLine: 4096})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tl.Run(ctx, s.emit) }()
		return cancel, tl, done
	}
	cancel, tl, done := run()
	s.waitFor(t, 3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := tl.Stats(); st.Events != 3 || st.Filtered != 1 || st.Malformed != 2 {
		t.Errorf("stats %+v, want 3 events, 1 filtered, 2 malformed", st)
	}

	// Stopped: more lines, a rotation, lines in the new file.
	appendTo(t, log, auditLine(t, 4))
	if err := os.Rename(log, log+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, log, auditLine(t, 5))

	cancel, _, done = run()
	s.waitFor(t, 5)
	appendTo(t, log, auditLine(t, 6))
	got := s.waitFor(t, 6)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"id-001", "id-002", "id-003", "id-004", "id-005", "id-006"}
	if !slices.Equal(got, want) {
		t.Errorf("audit ids %v, want %v (each once, in order)", got, want)
	}
}
