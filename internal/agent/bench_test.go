package agent_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/agent"
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
