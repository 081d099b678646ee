package agent_test

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/policy"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// BenchmarkConnSend: what the agent pays per report it hands the server:
// an unchanged report (hashed and skipped: the steady state of a host
// re-assessed every hour) and a changed one (hashed, gzipped, written
// durably to the outbox).
func BenchmarkConnSend(b *testing.B) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	doc := []byte(fmt.Sprintf(`{"benchmark":"CIS Docker","pad":"%x"}`, make([]byte, 40<<10)))
	type rep struct{ Results []string }
	r := rep{Results: make([]string, 120)}
	for i := range r.Results {
		r.Results[i] = fmt.Sprintf("CIS-DOCKER-%d healthy evidence text of some length", i)
	}
	for _, changed := range []bool{false, true} {
		b.Run(fmt.Sprintf("changed=%v", changed), func(b *testing.B) {
			dir := b.TempDir()
			cred := `{"agent_id":"a","token":"bwt_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","expires_at":"2099-01-01T00:00:00Z"}`
			os.WriteFile(filepath.Join(dir, "credential.json"), []byte(cred), 0o600) //nolint:errcheck
			c, err := agent.Connect(context.Background(), agent.Options{Server: "http://" + addr, StateDir: dir, Kind: "docker", Name: "h", MaxOutboxBytes: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				key := "docker-bench/h"
				if changed {
					r.Results[0] = fmt.Sprint(i)
				}
				if err := c.Send(context.Background(), key, r, doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClusterResync: the cluster agent's full resync of N pods
// (BULWARK_AGENT_PODS, default 2,000) evaluated over its caches and
// queued as deltas, then delivered to and stored by the real API (SQLite):
// queue-s is the agent's side, stored-s until the outbox is empty.
// "engine" is a given engine without verdicts; "server" the engine the
// agent makes from the server's policy config, fed with the server's
// image verdicts (asked in batches before each chunk's evaluation).
func BenchmarkClusterResync(b *testing.B) {
	for _, mode := range []string{"engine", "server"} {
		b.Run(mode, func(b *testing.B) { benchClusterResync(b, mode == "server") })
	}
}

func benchClusterResync(b *testing.B, fromServer bool) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("BULWARK_AGENT_PODS")); err == nil && v > 0 {
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, "", b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.New(api.Options{Store: st, Version: "dev"}))
	defer srv.Close()
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	conn, err := agent.Connect(ctx, agent.Options{Server: srv.URL, Token: enrol, StateDir: b.TempDir(), Kind: "cluster", Name: "bench", Version: "dev", MaxOutboxBytes: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	o := agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "bench"}, Version: "dev"}
	if fromServer {
		o.Verdicts = conn.Client()
		if o.Policies, err = conn.PolicyConfigWatcher(time.Hour); err != nil {
			b.Fatal(err)
		}
	} else if o.Engine, err = policy.New(ctx, nil); err != nil {
		b.Fatal(err)
	}
	tc, err := agent.StartTestCluster(ctx, conn, o, "c0ffee00-0000-4000-8000-0000000000b1")
	if err != nil {
		b.Fatal(err)
	}
	tc.Put("Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "bench"}})
	for i := range n {
		tc.Put("Pod", map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": fmt.Sprintf("p-%05d", i), "namespace": "bench", "uid": fmt.Sprint(i),
			"labels": map[string]any{"app": "bench"}}, "spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": fmt.Sprintf("registry.example/app-%d:1.0", i%50)}}}})
	}
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		tc.Resync(ctx)
		queued := time.Since(t0)
		for conn.OutboxStats().Queued > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		b.ReportMetric(queued.Seconds(), "queue-s")
		b.ReportMetric(time.Since(t0).Seconds(), "stored-s")
	}
}
