package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// receiver is a real HTTP webhook receiver whose answer the test switches.
type receiver struct {
	status atomic.Int32 // answer for every request; 200 when up
	mu     sync.Mutex
	ids    []string // alert ids received with a 2xx answer, in order
	auth   []string
	hits   atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	body, _ := io.ReadAll(req.Body)
	var d document
	if err := json.Unmarshal(body, &d); err != nil || d.SchemaVersion != model.SchemaVersion || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad alert document", http.StatusBadRequest)
		return
	}
	code := int(r.status.Load())
	if strings.HasPrefix(d.ID, "reject") {
		code = http.StatusUnprocessableEntity
	}
	if code >= 200 && code < 300 {
		r.mu.Lock()
		r.ids = append(r.ids, d.ID)
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
	}
	w.WriteHeader(code)
}

func (r *receiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

func firstReceipts(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func newReceiver(status int) *receiver {
	r := &receiver{}
	r.status.Store(int32(status))
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testAlert(id string) model.Alert {
	a := fixtures()[1]
	a.ID = id
	return a
}

func sendIDs(t *testing.T, s Sink, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := s.Send(context.Background(), testAlert(id)); err != nil {
			t.Fatal(err)
		}
	}
}

func testLogger(t *testing.T, also io.Writer) *slog.Logger {
	w := t.Output()
	if also != nil {
		w = io.MultiWriter(w, also)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func webhookOpts(t *testing.T, url, dir string) WebhookOptions {
	return WebhookOptions{
		URL: url, QueueDir: dir, Headers: map[string]string{"Authorization": "Bearer s3cret"},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, Timeout: 5 * time.Second,
		Logger: testLogger(t, nil),
	}
}

func TestWebhookOutage503(t *testing.T) {
	r := newReceiver(http.StatusOK)
	srv := httptest.NewServer(r)
	defer srv.Close()
	w, err := NewWebhook(webhookOpts(t, srv.URL, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "a1", "a2", "a3")
	waitFor(t, "the first three", func() bool { return len(r.got()) == 3 })

	r.status.Store(http.StatusServiceUnavailable)
	sendIDs(t, w, "a4", "a5", "a6")
	waitFor(t, "retries while the receiver is down", func() bool { return w.Stats().Retried >= 3 })
	if st := w.Stats(); st.Queued != 3 || st.Sent != 3 {
		t.Errorf("while down: %+v, want 3 queued, 3 sent", st)
	}
	r.status.Store(http.StatusOK)
	waitFor(t, "delivery after the receiver came back", func() bool { return w.Stats().Sent == 6 })
	if got := r.got(); !slices.Equal(got, []string{"a1", "a2", "a3", "a4", "a5", "a6"}) {
		t.Errorf("received %v", got)
	}
	r.mu.Lock()
	if r.auth[0] != "Bearer s3cret" {
		t.Errorf("Authorization header %q", r.auth[0])
	}
	r.mu.Unlock()
	st := w.Stats()
	if st.Sent != 6 || st.Queued != 0 || st.QueuedBytes != 0 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("after: %+v", st)
	}
}

func TestWebhookReceiverGoneAndBack(t *testing.T) {
	r := newReceiver(http.StatusOK)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens: connection refused
	w, err := NewWebhook(webhookOpts(t, "http://"+addr+"/hook", t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "b1", "b2", "b3")
	waitFor(t, "retries", func() bool { return w.Stats().Retried >= 2 })

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	waitFor(t, "delivery", func() bool { return len(r.got()) == 3 })
	if got := r.got(); !slices.Equal(got, []string{"b1", "b2", "b3"}) {
		t.Errorf("received %v", got)
	}
}

func TestWebhookRestart(t *testing.T) {
	r := newReceiver(http.StatusServiceUnavailable)
	srv := httptest.NewServer(r)
	defer srv.Close()
	dir := t.TempDir()
	w, err := NewWebhook(webhookOpts(t, srv.URL, dir))
	if err != nil {
		t.Fatal(err)
	}
	sendIDs(t, w, "c1", "c2", "c3", "c4", "c5")
	waitFor(t, "a retry", func() bool { return w.Stats().Retried >= 1 })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Send(context.Background(), testAlert("late")); err == nil {
		t.Error("Send after Close succeeded")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"+queueExt))
	if len(files) != 5 {
		t.Fatalf("%d queue files after close, want 5", len(files))
	}

	// A new process on the same queue directory, receiver back.
	r.status.Store(http.StatusOK)
	w2, err := NewWebhook(webhookOpts(t, srv.URL, dir))
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	sendIDs(t, w2, "c6")
	waitFor(t, "delivery after restart", func() bool { return w2.Stats().Sent == 6 })
	// Delivery is at least once: the request Close aborted may still have
	// reached the receiver, so compare the order of first receipt.
	if got := firstReceipts(r.got()); !slices.Equal(got, []string{"c1", "c2", "c3", "c4", "c5", "c6"}) {
		t.Errorf("received %v", got)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
		t.Errorf("queue dir not empty after delivery: %v", files)
	}
}

func TestWebhookQueueFull(t *testing.T) {
	r := newReceiver(http.StatusServiceUnavailable)
	srv := httptest.NewServer(r)
	defer srv.Close()
	body, err := Marshal(testAlert("d1"))
	if err != nil {
		t.Fatal(err)
	}
	rec := int64(len(encodeRecord(body)))
	var logs bytes.Buffer
	o := webhookOpts(t, srv.URL, t.TempDir())
	o.MaxQueueBytes = 3*rec + rec/2
	o.Logger = testLogger(t, &logs)
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "d1", "d2", "d3", "d4", "d5")
	st := w.Stats()
	if st.Dropped != 2 || st.Queued != 3 || st.QueuedBytes > o.MaxQueueBytes {
		t.Errorf("stats %+v, want 2 dropped, 3 queued within %d bytes", st, o.MaxQueueBytes)
	}
	if n := strings.Count(logs.String(), "oldest undelivered alert dropped"); n != 2 {
		t.Errorf("%d drop errors logged, want 2:\n%s", n, logs.String())
	}
	r.status.Store(http.StatusOK)
	waitFor(t, "delivery", func() bool { return len(r.got()) == 3 })
	got := r.got()
	// The oldest go first, except one being delivered at that moment.
	if !slices.IsSorted(got) || got[1] != "d4" || got[2] != "d5" {
		t.Errorf("received %v, want the newest two last, in order", got)
	}
	// Too large for the whole queue: refused, counted, not stored.
	big := testAlert("big")
	big.Description = strings.Repeat("x", int(o.MaxQueueBytes))
	if err := w.Send(context.Background(), big); err == nil {
		t.Error("an alert larger than the queue was accepted")
	}
	if st := w.Stats(); st.Failed != 1 {
		t.Errorf("failed %d, want 1", st.Failed)
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	// 408 and 429 are retried (Retry-After honoured up to MaxBackoff);
	// other 4xx are permanent: counted, logged, removed.
	var calls atomic.Int64
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var d document
		_ = json.NewDecoder(req.Body).Decode(&d)
		n := calls.Add(1)
		switch {
		case strings.HasPrefix(d.ID, "reject"):
			w.WriteHeader(http.StatusUnprocessableEntity)
		case d.ID == "slow" && n <= 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader([]int{http.StatusTooManyRequests, http.StatusRequestTimeout}[n-1])
		default:
			mu.Lock()
			got = append(got, d.ID)
			mu.Unlock()
		}
	}))
	defer srv.Close()
	w, err := NewWebhook(webhookOpts(t, srv.URL, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "slow", "reject-1", "ok")
	waitFor(t, "delivery", func() bool { return w.Stats().Sent == 2 && w.Stats().Failed == 1 })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, []string{"slow", "ok"}) {
		t.Errorf("received %v", got)
	}
	if st := w.Stats(); st.Retried != 2 || st.Queued != 0 {
		t.Errorf("stats %+v, want 2 retries, nothing queued", st)
	}
}

func TestWebhookMaxRetries(t *testing.T) {
	r := newReceiver(http.StatusBadGateway)
	srv := httptest.NewServer(r)
	defer srv.Close()
	o := webhookOpts(t, srv.URL, t.TempDir())
	o.MaxRetries = 2
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "e1")
	waitFor(t, "failure", func() bool { return w.Stats().Failed == 1 })
	if st := w.Stats(); st.Retried != 2 || st.Queued != 0 || r.hits.Load() != 3 {
		t.Errorf("stats %+v after %d requests; want 1 try + 2 retries, then removed", st, r.hits.Load())
	}
}

func TestWebhookTLS(t *testing.T) {
	r := newReceiver(http.StatusOK)
	srv := httptest.NewUnstartedServer(r)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted client's handshake failures are expected
	srv.StartTLS()
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without the CA the receiver is not trusted: nothing is delivered.
	untrusted, err := NewWebhook(webhookOpts(t, srv.URL, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	sendIDs(t, untrusted, "f0")
	waitFor(t, "a failed TLS handshake", func() bool { return untrusted.Stats().Retried >= 1 })
	untrusted.Close()
	if len(r.got()) != 0 {
		t.Fatal("delivered to an untrusted receiver")
	}

	o := webhookOpts(t, srv.URL, t.TempDir())
	o.CAFile = ca
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "f1")
	waitFor(t, "delivery over TLS", func() bool { return len(r.got()) == 1 })

	o.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := NewWebhook(o); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestWebhookDamagedQueue(t *testing.T) {
	// A queue left by an earlier run, one file damaged and one write that
	// never reached its rename: the good ones are delivered in order, the
	// damaged one is reported and set aside.
	dir := t.TempDir()
	for i, id := range []string{"g1", "g2", "g3"} {
		body, _ := Marshal(testAlert(id))
		rec := encodeRecord(body)
		if id == "g2" {
			rec = rec[:len(rec)-5]
		}
		if err := os.WriteFile(filepath.Join(dir, queueName(uint64(i+1))), rec, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, queueName(4)+".tmp"), []byte("BWQ1"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(http.StatusOK)
	srv := httptest.NewServer(r)
	defer srv.Close()
	var logs bytes.Buffer
	o := webhookOpts(t, srv.URL, dir)
	o.Logger = testLogger(t, &logs)
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sendIDs(t, w, "g4")
	waitFor(t, "delivery", func() bool { return w.Stats().Sent == 3 })
	if got := r.got(); !slices.Equal(got, []string{"g1", "g3", "g4"}) {
		t.Errorf("received %v", got)
	}
	if st := w.Stats(); st.Corrupt != 1 {
		t.Errorf("corrupt %d, want 1", st.Corrupt)
	}
	if !strings.Contains(logs.String(), "damaged entry skipped") {
		t.Errorf("damaged file not reported:\n%s", logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, queueName(2)+corruptExt)); err != nil {
		t.Errorf("damaged file not kept aside: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, queueName(4)+".tmp")); err == nil {
		t.Error("leftover temp file not removed")
	}
}

func TestMulti(t *testing.T) {
	var a, b collector
	failing := &jsonLines{w: failWriter{}}
	m := Multi(&a, failing, &b)
	err := m.Send(context.Background(), testAlert("m1"))
	if err == nil || len(a.all()) != 1 || len(b.all()) != 1 {
		t.Errorf("err %v, a %d b %d: a failing sink must not stop the others", err, len(a.all()), len(b.all()))
	}
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestBackoff(t *testing.T) {
	w := &Webhook{opts: WebhookOptions{MinBackoff: time.Second, MaxBackoff: 10 * time.Second}}
	for _, tt := range []struct {
		attempt int
		step    time.Duration // the exponential step; the delay is in [step/2, step]
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {60, 10 * time.Second}} {
		for range 50 {
			if d := w.backoff(tt.attempt); d < tt.step/2 || d > tt.step {
				t.Fatalf("attempt %d: delay %v outside [%v, %v]", tt.attempt, d, tt.step/2, tt.step)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0}, {"7", 7 * time.Second, 7 * time.Second}, {"-3", 0, 0}, {"soon", 0, 0},
		{time.Now().Add(time.Minute).UTC().Format(http.TimeFormat), 50 * time.Second, time.Minute},
	} {
		if d := retryAfter(tt.in); d < tt.min || d > tt.max {
			t.Errorf("retryAfter(%q) = %v, want [%v, %v]", tt.in, d, tt.min, tt.max)
		}
	}
}

func TestWebhookConcurrentSenders(t *testing.T) {
	r := newReceiver(http.StatusOK)
	srv := httptest.NewServer(r)
	defer srv.Close()
	w, err := NewWebhook(webhookOpts(t, srv.URL, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 25 {
				if err := w.Send(context.Background(), testAlert(fmt.Sprintf("s%d-%02d", g, i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	waitFor(t, "delivery", func() bool { return w.Stats().Sent == 100 })
	// Each sender's alerts arrive in the order it sent them.
	last := map[string]string{}
	for _, id := range r.got() {
		g := id[:2]
		if id <= last[g] {
			t.Errorf("%s after %s", id, last[g])
		}
		last[g] = id
	}
	if len(r.got()) != 100 {
		t.Errorf("received %d", len(r.got()))
	}
}
