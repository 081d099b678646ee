package alert

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestWebhookDiskFull fills a real 1 MiB tmpfs: the queue holds alerts a
// failing receiver refused, another file takes the rest of the space,
// and new alerts still get queued — the oldest are dropped to make room,
// counted, with one log line for the episode — and the newest are
// delivered once the receiver is back.
func TestWebhookDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root to mount a small tmpfs")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "bw14f", mnt).CombinedOutput(); err != nil {
		testenv.Skipf(t, "cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) }) //nolint:errcheck

	r := newReceiver(http.StatusServiceUnavailable)
	srv := httptest.NewServer(r)
	defer srv.Close()
	var logs bytes.Buffer
	o := webhookOpts(t, srv.URL, filepath.Join(mnt, "queue"))
	o.Logger = testLogger(t, &logs)
	o.MaxQueueBytes = 64 << 20 // the bound is far: only the disk is full
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 100 queued alerts (a 4 KiB block each), then fill what is left.
	for i := range 100 {
		sendIDs(t, w, fmt.Sprintf("old-%03d", i))
	}
	f, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()

	var newIDs []string
	for i := range 20 {
		newIDs = append(newIDs, fmt.Sprintf("new-%03d", i))
	}
	sendIDs(t, w, newIDs...) // each must be queued: fails the test otherwise
	st := w.Stats()
	if st.DiskFullDropped < 20 || st.Dropped != st.DiskFullDropped || !st.DiskFull || st.Failed != 0 {
		t.Errorf("stats %+v: want ≥ 20 dropped for the full disk, disk full, none failed", st)
	}
	if n := strings.Count(logs.String(), "queue disk full"); n != 1 {
		t.Errorf("%d disk-full lines logged, want one for the episode:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("the disk-full line does not say why:\n%s", logs.String())
	}

	// Room again: the episode ends, logged, and the newest arrive in order.
	os.Remove(filepath.Join(mnt, "filler"))
	sendIDs(t, w, "after")
	if st := w.Stats(); st.DiskFull {
		t.Errorf("still disk full after room was made: %+v", st)
	}
	if !strings.Contains(logs.String(), "queue disk has room again") {
		t.Errorf("the end of the episode is not logged:\n%s", logs.String())
	}
	r.status.Store(http.StatusOK)
	want := int(w.Stats().Queued)
	waitFor(t, "delivery", func() bool { return len(firstReceipts(r.got())) >= want })
	got := firstReceipts(r.got())
	tail := got[len(got)-len(newIDs)-1:]
	if !slices.Equal(tail, append(newIDs, "after")) {
		t.Errorf("the last received are %v, want every new alert in order then \"after\"", tail)
	}
	if old := got[:len(got)-len(newIDs)-1]; !slices.IsSorted(old) || len(old) > 0 && !strings.HasPrefix(old[0], "old-") {
		t.Errorf("received out of order: %v", got)
	}
	t.Logf("queued 100 old + 20 new on a full 1 MiB disk: %d old dropped, %d delivered", st.DiskFullDropped, len(got))
}

// TestWebhookHoldUnauthorized: with OnUnauthorized, a 401 holds delivery
// — one attempt, one callback, the alerts kept — until Resume.
func TestWebhookHoldUnauthorized(t *testing.T) {
	r := newReceiver(http.StatusUnauthorized)
	srv := httptest.NewServer(r)
	defer srv.Close()
	var calls atomic.Int32
	o := webhookOpts(t, srv.URL, t.TempDir())
	o.OnUnauthorized = func(error) { calls.Add(1) }
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "h1", "h2")
	waitFor(t, "the hold", func() bool { return w.Stats().Held })
	time.Sleep(300 * time.Millisecond) // 6 backoffs' worth
	if n, c := r.hits.Load(), calls.Load(); n != 1 || c != 1 {
		t.Errorf("%d attempts, %d callbacks while held; want 1 and 1", n, c)
	}
	if st := w.Stats(); st.Queued != 2 || st.Failed != 0 {
		t.Errorf("stats while held %+v", st)
	}
	r.status.Store(http.StatusOK)
	w.Resume()
	waitFor(t, "delivery after Resume", func() bool { return len(r.got()) == 2 })
	if st := w.Stats(); st.Held || st.Queued != 0 {
		t.Errorf("stats after Resume %+v", st)
	}
}
