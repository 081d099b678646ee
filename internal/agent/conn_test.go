package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func credToken(t *testing.T, dir string) string {
	t.Helper()
	var c struct {
		Token string `json:"token"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "credential.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &c) //nolint:errcheck
	return c.Token
}

// TestConnRotationAndRevocation: against the real API, an agent whose
// credential lives 3s rotates it before it expires and keeps calling in
// past the first one's expiry; when its credential is revoked it says so
// clearly and its outbox keeps what it could not deliver.
func TestConnRotationAndRevocation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Version: "v1.4.0", AgentCredentialTTL: 3 * time.Second}))
	defer srv.Close()
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	dir := t.TempDir()
	conn, err := agent.Connect(ctx, agent.Options{Server: srv.URL, Token: enrol, StateDir: dir, Kind: "docker", Name: "web-1",
		Version: "v1.3.0", Heartbeat: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	first := credToken(t, dir)
	if fi, _ := os.Stat(filepath.Join(dir, "credential.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("credential file mode %o, want 600", fi.Mode().Perm())
	}
	go conn.Run(ctx, nil)
	waitFor(t, 5*time.Second, "a rotated credential", func() (bool, string) {
		tok := credToken(t, dir)
		return tok != first, ""
	})
	if !strings.Contains(logs.String(), "one minor version behind") {
		t.Errorf("the skew warning was not logged:\n%s", logs.String())
	}
	// Past the first credential's expiry the agent still calls in.
	time.Sleep(3 * time.Second)
	ag, err := st.Agents(ctx)
	if err != nil || len(ag) != 1 || time.Since(ag[0].LastContact) > time.Second {
		t.Fatalf("agents %+v %v", ag, err)
	}
	if strings.Contains(logs.String(), "refuses the agent credential") {
		t.Fatalf("credential refused during rotation:\n%s", logs.String())
	}
	// Revoked: a clear log line; a report waits in the outbox.
	id, _, _ := auth.ParseToken(credToken(t, dir))
	if err := st.RevokeToken(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := conn.Send(ctx, "k", "v", []byte(`{"type":"T","first_seen":"2026-12-01T00:00:00Z","id":"a1"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the revocation logged", func() (bool, string) {
		return strings.Contains(logs.String(), "server refuses the agent credential (revoked or unknown)"), ""
	})
	time.Sleep(300 * time.Millisecond)
	if s := conn.OutboxStats(); s.Queued != 1 || s.Failed != 0 {
		t.Errorf("outbox after revocation: %+v, want the report kept", s)
	}
}

// TestOutboxBounded: with the server unreachable, a full outbox drops its
// oldest documents and counts them; Send never blocks.
func TestOutboxBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	dir := t.TempDir()
	cred := `{"agent_id":"a","token":"bwt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","issued_at":"2026-12-01T00:00:00Z","expires_at":"2099-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, "credential.json"), []byte(cred), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := agent.Connect(ctx, agent.Options{Server: "http://" + addr, StateDir: dir, Kind: "docker", Name: "h", MaxOutboxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	for i := range 200 {
		doc := fmt.Sprintf(`{"type":"T","first_seen":"2026-12-01T00:00:00Z","id":"a%d","pad":"%x"}`, i, make([]byte, 300))
		if err := conn.Send(ctx, fmt.Sprint(i), i, []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("200 sends took %s", d)
	}
	s := conn.OutboxStats()
	if s.Dropped == 0 || s.QueuedBytes > 8<<10 || s.Queued == 0 {
		t.Errorf("outbox %+v: want oldest dropped, bound kept", s)
	}
	// Unchanged content under one key is not queued again.
	before := conn.OutboxStats().Queued + conn.OutboxStats().Dropped
	for range 5 {
		conn.Send(ctx, "same", "same", []byte(`{"type":"T","first_seen":"x","id":"same"}`)) //nolint:errcheck
	}
	if after := conn.OutboxStats().Queued + conn.OutboxStats().Dropped; after != before+1 {
		t.Errorf("5 sends of one unchanged document queued %d", after-before)
	}
}
