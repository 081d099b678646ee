package agent_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// reportLog wraps the real API and records every POST /api/v1/reports:
// the document's id and the answer.
type reportLog struct {
	h  http.Handler
	mu sync.Mutex
	// posts are "STATUS id" in arrival order.
	posts []string
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (l *reportLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/reports" {
		l.h.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var doc struct{ ID string }
	if zr, err := gzip.NewReader(strings.NewReader(string(body))); err == nil {
		b, _ := io.ReadAll(zr)
		json.Unmarshal(b, &doc) //nolint:errcheck
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	l.h.ServeHTTP(sw, r)
	l.mu.Lock()
	l.posts = append(l.posts, fmt.Sprintf("%d %s", sw.code, doc.ID))
	l.mu.Unlock()
}

func (l *reportLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.posts...)
}

func (l *reportLog) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, p := range l.posts {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

// TestConnRevokedHoldsAndReenrols: a credential revoked through the API
// (DELETE /api/v1/tokens/{id}) stops all sending — one clear log line, no
// more report attempts, the documents kept on disk, "refused" in the
// health — while the agent keeps queueing what it detects. A restart with
// the same enrolment token stays refused (the revocation holds); a restart
// with a new one enrols again and delivers the kept outbox, each document
// once.
func TestConnRevokedHoldsAndReenrols(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rl := &reportLog{h: api.New(api.Options{Store: st, Version: "v1.4.0"})}
	srv := httptest.NewServer(rl)
	defer srv.Close()
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, admin, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "admin", Scopes: "admin"}, "test", time.Now())
	dir := t.TempDir()
	logs := &syncBuffer{}
	start := func(tok string) (*agent.Conn, context.CancelFunc) {
		t.Helper()
		cctx, ccancel := context.WithCancel(ctx)
		c, err := agent.Connect(cctx, agent.Options{Server: srv.URL, Token: tok, StateDir: dir, Kind: "docker", Name: "web-1",
			Version: "v1.4.0", Heartbeat: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { c.Run(cctx, nil); close(done) }()
		return c, func() { ccancel(); <-done; c.Close() }
	}
	send := func(c *agent.Conn, id string) {
		t.Helper()
		now := time.Now().UTC()
		a := model.Alert{ID: id, Type: "K8S.NODE_SuspectProcess", Title: "t", Severity: model.SeverityHigh, Status: model.AlertActive,
			Resource: model.Resource{Kind: "host", ID: "web-1"}, FirstSeen: now, LastSeen: now, Count: 1}
		if err := c.Sink().Send(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	conn, stop := start(enrol)
	send(conn, "before")
	waitFor(t, 5*time.Second, "the first alert delivered", func() (bool, string) { return rl.count("2") == 1, fmt.Sprint(rl.list()) })

	id, _, _ := auth.ParseToken(credToken(t, dir))
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/tokens/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoking the agent's token: %v %v", resp, err)
	}
	resp.Body.Close()
	send(conn, "held-1")
	waitFor(t, 5*time.Second, "the outbox held", func() (bool, string) {
		return conn.OutboxStats().Held && conn.Refused(), fmt.Sprintf("%+v", conn.OutboxStats())
	})
	refusedPosts := rl.count("401")
	send(conn, "held-2")
	send(conn, "held-3")
	time.Sleep(1500 * time.Millisecond) // 7 heartbeats, each refused
	const line = "server refuses the agent credential (revoked or unknown): sending stopped"
	if n := strings.Count(logs.String(), line); n != 1 {
		t.Errorf("the refusal was logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "restart the agent with a new enrolment token") {
		t.Errorf("the refusal line does not say what to do:\n%s", logs.String())
	}
	if n := rl.count("401"); n != refusedPosts || n > 1 {
		t.Errorf("%d reports refused, %d after the hold: want one, then none", n, n-refusedPosts)
	}
	if s := conn.OutboxStats(); s.Queued != 3 || s.Failed != 0 || s.Dropped != 0 {
		t.Errorf("outbox while refused %+v: want the 3 alerts kept", s)
	}
	if h := conn.Health(); h.Credential != "refused" || h.Refusals != 1 || h.LastRefused == nil {
		t.Errorf("health %+v: want credential refused once", h)
	}
	var onDisk agent.Health
	if b, err := os.ReadFile(filepath.Join(dir, "health.json")); err != nil || json.Unmarshal(b, &onDisk) != nil || onDisk.Credential != "refused" {
		t.Errorf("health.json: %s %v, want credential refused", b, err)
	}
	stop()

	// Restarted with the token it was deployed with: still refused.
	conn, stop = start(enrol)
	waitFor(t, 5*time.Second, "the refusal after a restart with the old token", func() (bool, string) {
		return strings.Count(logs.String(), line) == 2, ""
	})
	if n := rl.count("2"); n != 1 {
		t.Errorf("%d reports accepted with the revoked credential", n-1)
	}
	stop()

	// Restarted with a new enrolment token: enrols again, sends the kept outbox once.
	_, enrol2, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol-2", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	conn, stop = start(enrol2)
	defer stop()
	send(conn, "after")
	waitFor(t, 10*time.Second, "the kept outbox delivered", func() (bool, string) {
		return conn.OutboxStats().Queued == 0 && rl.count("2") == 5, fmt.Sprint(rl.list())
	})
	for _, id := range []string{"held-1", "held-2", "held-3", "after"} {
		if n := rl.count("201 " + id); n != 1 {
			t.Errorf("%s accepted %d times, want once: %v", id, n, rl.list())
		}
	}
	if !strings.Contains(logs.String(), "enrolled again with the given enrolment token: sending resumes") {
		t.Errorf("the re-enrolment is not logged:\n%s", logs.String())
	}
	time.Sleep(300 * time.Millisecond)
	if h := conn.Health(); h.Credential != "accepted" || h.ReEnrolled != 1 {
		t.Errorf("health after re-enrolment %+v", h)
	}
	ag, _ := st.Agents(ctx)
	t.Logf("agents on the server: %d; reports: %v", len(ag), rl.list())
}
