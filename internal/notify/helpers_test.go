package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// receiver is a loopback webhook endpoint that records what it accepts and
// answers as answer says (default 200).
type receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	bodies   [][]byte      // accepted (2xx) bodies, in order
	attempts int           // every request
	times    []time.Time   // of every request
	headers  []http.Header // of every request
	answer   func(n int, body []byte) (int, http.Header)
	// genAnswer, when set, decides from the request's headers.
	genAnswer func(n int, body []byte, h http.Header) int
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.attempts++
		n := r.attempts
		r.times = append(r.times, time.Now())
		r.headers = append(r.headers, req.Header.Clone())
		answer, genAnswer := r.answer, r.genAnswer
		r.mu.Unlock()
		code := http.StatusOK
		var h http.Header
		if answer != nil {
			code, h = answer(n, body)
		} else if genAnswer != nil {
			code = genAnswer(n, body, req.Header)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		if code/100 == 2 {
			r.mu.Lock()
			r.bodies = append(r.bodies, body)
			r.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setAnswer(f func(n int, body []byte) (int, http.Header)) {
	r.mu.Lock()
	r.answer = f
	r.mu.Unlock()
}

// setGenAnswer answers by the request's headers.
func (r *receiver) setGenAnswer(f func(n int, body []byte, h http.Header) int) {
	r.mu.Lock()
	r.answer = nil
	r.genAnswer = f
	r.mu.Unlock()
}

func (r *receiver) accepted() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// ids returns the event ids of the accepted webhook documents.
func (r *receiver) ids(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, b := range r.accepted() {
		var doc struct {
			SchemaVersion string `json:"schema_version"`
			ID            string `json:"id"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.SchemaVersion != model.SchemaVersion {
			t.Fatalf("webhook body is not an event document (%v): %s", err, b)
		}
		out = append(out, doc.ID)
	}
	return out
}

// start writes the YAML config into a temp dir and opens a Dispatcher on it.
func start(t *testing.T, dir, yamlText string, opts Options) *Dispatcher {
	t.Helper()
	p := filepath.Join(dir, "notify.yaml")
	if err := os.WriteFile(p, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if opts.StateDir == "" {
		opts.StateDir = dir
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = 10 * time.Millisecond
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 50 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	d, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func statsOf(d *Dispatcher, name string) Stats {
	for _, s := range d.Stats() {
		if s.Name == name {
			return s
		}
	}
	return Stats{}
}

// waitFor polls until cond holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var t0 = time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)

func ev(kind Kind, sev model.Severity, rk model.ResourceKind, id string) Event {
	return Event{
		ID: NewID(kind, id), Kind: kind, Severity: sev,
		Title:    "title " + id,
		Resource: Resource{Kind: rk, ID: "res-" + id, Name: "name-" + id},
		At:       t0,
	}
}

// logBuffer is a slog logger at debug level writing into a buffer.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
