package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// newVulndataServer starts a real server over a vulnerability DB built
// from the Debian part of ../shared/vulndata (real tracker data), judging
// at threshold low.
func newVulndataServer(t *testing.T) *testServer {
	t.Helper()
	feeds := t.TempDir()
	if out, err := exec.Command("cp", "-r", testenv.Shared(t, "vulndata/debian"), feeds).CombinedOutput(); err != nil {
		t.Fatalf("copying the Debian feeds: %v %s", err, out)
	}
	cache := t.TempDir()
	if _, err := update.Run(context.Background(), scan.DBDir(cache), update.Options{Sources: []string{feeds}}); err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, o: server.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", CacheDir: cache, Version: "v1.4.0",
		Threshold: model.SeverityLow}}
	s.start()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
	})
	return s
}

// TestDockerAgentHostPackages: the Docker agent inventories this
// machine's own root (Debian bookworm) at start and the server, with a DB
// from real Debian tracker data, stores it under the Docker host and
// matches it: the host has an inventory, findings and a VULN-host result
// that agrees with them (REC-HOST-VULNS reads it). Later checks find the package databases unchanged and
// send nothing again.
func TestDockerAgentHostPackages(t *testing.T) {
	testenv.Docker(t)
	if _, err := os.Stat("/var/lib/dpkg/status"); err != nil {
		t.Skip("needs a dpkg-based host")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newVulndataServer(t)
	base := "http://" + srv.addr
	engineName := docker(t, "info", "--format", "{{.Name}}")
	engineID := docker(t, "info", "--format", "{{.ID}}")
	st := openStore(t, srv.o.DataDir)
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h", Resource: "docker-host/" + engineName}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, readTok, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "reader", Scopes: "read"}, "test", time.Now())
	st.Close()
	rc, _ := client.New(base, readTok, client.Options{Retries: -1})

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	conn, err := agent.Connect(ctx, agent.Options{Server: base, Token: enrol, StateDir: t.TempDir(), Kind: "docker", Name: engineName,
		Version: "v1.4.0", Heartbeat: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- agent.RunDocker(ctx, conn, agent.DockerOptions{BenchInterval: time.Hour, CacheDir: t.TempDir(), Root: "/",
			HostScanInterval: 300 * time.Millisecond, Version: "v1.4.0", Logger: log})
	}()
	defer func() {
		cancel()
		<-done
		conn.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	took := waitFor(t, 30*time.Second, "the host's own inventory on the server", func() (bool, string) {
		r, err := rc.Resource(ctx, engineID)
		if err != nil {
			return false, err.Error()
		}
		return r.Inventory != nil && r.Inventory.Packages > 50 && r.Inventory.MatchedWith != "", fmt.Sprintf("%+v", r.Inventory)
	})
	r, err := rc.Resource(ctx, engineID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != model.KindDockerHost || !strings.HasPrefix(r.Inventory.Distro, "debian 12") {
		t.Errorf("host %s: kind %s inventory %+v", engineID, r.Kind, r.Inventory)
	}
	p, err := rc.Assessments(ctx, url.Values{"resource": {engineID}, "rule": {recommend.RuleHost}})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("the host's %s result: %+v %v", recommend.RuleHost, p, err)
	}
	a := p.Items[0]
	fs, err := rc.Findings(ctx, url.Values{"resource": {engineID}, "limit": {"500"}})
	if err != nil {
		t.Fatal(err)
	}
	// The health agrees with the findings: unhealthy exactly when some are
	// at or above the threshold (low).
	if (a.Status == model.AssessUnhealthy) != (len(fs.Items) > 0) || (a.Status != model.AssessUnhealthy && a.Status != model.AssessHealthy) {
		t.Errorf("host result %s with %d findings: %v", a.Status, len(fs.Items), a.Evidence)
	}
	t.Logf("host %s: %d packages (%s) on the server %s after the agent started; %s %s with %d findings (%v)",
		engineID, r.Inventory.Packages, r.Inventory.Distro, took, recommend.RuleHost, a.Status, len(fs.Items), a.Evidence)
	// Unchanged databases are not inventoried again.
	waitFor(t, 10*time.Second, "a check that finds the package databases unchanged", func() (bool, string) {
		return strings.Contains(logs.String(), "host package scan skipped: package databases unchanged"), ""
	})
	if n := strings.Count(logs.String(), "host package inventory queued"); n != 1 {
		t.Errorf("the host inventory was queued %d times, want once", n)
	}
}
