package agent_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// seqCounter counts the delta messages the server received, by seq.
type seqCounter struct {
	mu   sync.Mutex
	seqs map[uint64]int
	next http.Handler
}

func (c *seqCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api/v1/reports" && r.Header.Get("Content-Encoding") == "gzip" {
		raw, _ := io.ReadAll(r.Body)
		if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
			var d struct {
				Seq   uint64 `json:"seq"`
				Delta string `json:"delta"`
			}
			if json.NewDecoder(zr).Decode(&d) == nil && d.Delta != "" {
				c.mu.Lock()
				c.seqs[d.Seq]++
				c.mu.Unlock()
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
	}
	c.next.ServeHTTP(w, r)
}

func (c *seqCounter) snapshot() map[uint64]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[uint64]int{}
	for k, v := range c.seqs {
		out[k] = v
	}
	return out
}

func deployment(name string, privileged bool) map[string]any {
	return map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": "shop", "uid": "uid-" + name},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": "registry.example/" + name + ":1",
			"securityContext": map[string]any{"privileged": privileged}}}}}}}
}

// TestClusterOutage: the server goes away; the cluster changes (an object
// made privileged, one deleted, one created); the deltas wait in the
// agent's disk outbox; the server comes back at the same address and
// every result arrives, each message exactly once.
func TestClusterOutage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counter := &seqCounter{seqs: map[uint64]int{}, next: api.New(api.Options{Store: st, Version: "dev"})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	serve := func(ln net.Listener) *http.Server {
		hs := &http.Server{Handler: counter, ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln) //nolint:errcheck
		return hs
	}
	hs := serve(ln)
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	conn, err := agent.Connect(ctx, agent.Options{Server: "http://" + addr, Token: enrol, StateDir: t.TempDir(), Kind: "cluster", Name: "test", Version: "dev", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng, err := policy.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := agent.NewTestCluster(conn, agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "test"}, Engine: eng, Version: "dev", Logger: log}, testCluster)
	tc.Put("Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}})
	tc.Put("Deployment", deployment("a", false))
	tc.Put("Deployment", deployment("b", false))
	tc.Resync(ctx)
	id := func(n string) string { return testCluster + "/shop/Deployment/" + n }
	privileged := func(n string) string {
		p, err := st.ListAssessments(ctx, store.AssessmentQuery{Resource: id(n), Rule: "BW-PSS-PRIVILEGED"})
		if err != nil || len(p.Items) != 1 {
			return fmt.Sprint(len(p.Items), err)
		}
		return string(p.Items[0].Status)
	}
	waitFor(t, 10*time.Second, "the resync stored", func() (bool, string) {
		return privileged("b") == "healthy", privileged("b")
	})

	// The server stops.
	if err := hs.Close(); err != nil {
		t.Fatal(err)
	}
	tc.Put("Deployment", deployment("a", true))
	tc.Remove("Deployment", deployment("b", false))
	tc.Put("Deployment", deployment("c", false))
	tc.Changes(ctx)
	waitFor(t, 10*time.Second, "the delta waiting in the outbox", func() (bool, string) {
		s := conn.OutboxStats()
		return s.Queued == 1 && s.Retried > 0, fmt.Sprintf("%+v", s)
	})
	if privileged("a") != "healthy" {
		t.Fatalf("a changed on a stopped server: %s", privileged("a"))
	}
	// It starts again at the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen again at %s: %v", addr, err)
	}
	hs = serve(ln)
	defer hs.Close()
	waitFor(t, 45*time.Second, "the outbox delivered after the outage", func() (bool, string) {
		s := conn.OutboxStats()
		return s.Queued == 0, fmt.Sprintf("%+v", s)
	})
	if got := privileged("a"); got != "unhealthy" {
		t.Errorf("a: %s, want unhealthy", got)
	}
	if _, err := st.Resource(ctx, id("b")); err != store.ErrNotFound {
		t.Errorf("b after the outage: %v, want deleted", err)
	}
	if got := privileged("c"); got != "healthy" {
		t.Errorf("c: %s, want healthy", got)
	}
	seqs := counter.snapshot()
	for seq, n := range seqs {
		if n != 1 {
			t.Errorf("message %d received %d times", seq, n)
		}
	}
	if len(seqs) != 2 {
		t.Errorf("messages received %v, want the resync and the delta", seqs)
	}
	if s := conn.OutboxStats(); s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("outbox %+v", s)
	}
	if !strings.Contains(logs.String(), "delivery failed; will retry") {
		t.Errorf("the outage was not logged:\n%s", logs.String())
	}
}

// TestClusterCredentialRevoked: once the server refuses the agent's
// credential, the cluster agent says so clearly, queues nothing more, and
// its outbox keeps what it held.
func TestClusterCredentialRevoked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, "", t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hs := &http.Server{Handler: api.New(api.Options{Store: st, Version: "dev"}), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln) //nolint:errcheck
	defer hs.Close()
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	dir := t.TempDir()
	conn, err := agent.Connect(ctx, agent.Options{Server: "http://" + ln.Addr().String(), Token: enrol, StateDir: dir, Kind: "cluster", Name: "test", Version: "dev",
		Heartbeat: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eng, err := policy.New(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tc := agent.NewTestCluster(conn, agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "test"}, Engine: eng, Version: "dev", Logger: log}, testCluster)
	tc.Put("Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}})
	tc.Put("Deployment", deployment("a", false))
	tc.Resync(ctx)
	waitFor(t, 10*time.Second, "the resync delivered", func() (bool, string) {
		s := conn.OutboxStats()
		return s.Sent == 1, fmt.Sprintf("%+v", s)
	})
	// Revoked: the heartbeat is refused.
	tokenID, _, _ := auth.ParseToken(credToken(t, dir))
	if err := st.RevokeToken(ctx, tokenID); err != nil {
		t.Fatal(err)
	}
	go conn.Run(ctx, nil)
	waitFor(t, 10*time.Second, "the refusal seen", func() (bool, string) { return conn.Refused(), "" })
	tc.Put("Deployment", deployment("a", true))
	tc.Changes(ctx)
	if s := conn.OutboxStats(); s.Queued != 0 || s.Sent != 1 {
		t.Errorf("outbox %+v: a refused agent queued a delta", s)
	}
	if !strings.Contains(logs.String(), "cluster agent: the server refuses the agent credential (revoked or expired): not sending") {
		t.Errorf("no clear log line:\n%s", logs.String())
	}
}
