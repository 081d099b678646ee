package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestNodeAgentServerExceptions: the node agent takes its run-time
// exceptions from the server. An exception put on the server while the
// agent runs is in force at its next poll: a process it covers (a miner's
// name, xmrig) raises nothing, while another miner (cpuminer), started
// after it, still raises the alert, so the watch was live all along. The
// last good copy is kept in the agent's state directory.
func TestNodeAgentServerExceptions(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clusterID := "5f0c2c3e-6b1d-4c8e-9a57-2f9e1d7b0a12"
	_, base, enrol, admin := nodeTestServer(t, clusterID, "admin,read")

	node := fmt.Sprintf("bulwark-exc-%d", os.Getpid())
	nodeID := agent.NodeID(clusterID, node)
	state := t.TempDir()
	logs := startNodeAgent(ctx, t, base, enrol, state, true, agent.NodeOptions{ClusterID: clusterID, NodeName: node, Root: nodeRoot(t),
		BenchInterval: time.Hour})
	waitFor(t, 30*time.Second, "the node on the server", func() (bool, string) {
		_, err := admin.Resource(ctx, nodeID)
		return err == nil, fmt.Sprint(err)
	})

	if _, err := admin.PutConfigDoc(ctx, "runtime-exceptions", "exceptions:\n  - rules: [K8S.NODE_CryptoCoinMinerArtifacts]\n    processes: [xmrig]\n    reason: the benchmark node\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the server's new exceptions in force", func() (bool, string) {
		return strings.Contains(logs.String(), "remote config: new version in force"), ""
	})
	minerAlerts := func() int {
		p, err := admin.Alerts(ctx, url.Values{"type": {"K8S.NODE_CryptoCoinMinerArtifacts"}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range p.Items {
			if a.Resource.ID == nodeID {
				n++
			}
		}
		return n
	}
	stopXmrig := runAs(t, "xmrig")
	// The /proc source looks every 200 ms and alerts leave after a 1 s
	// window: 3 s is time enough for an alert that was not excepted.
	time.Sleep(3 * time.Second)
	stopXmrig()
	if n := minerAlerts(); n != 0 {
		t.Fatalf("the excepted miner raised %d alerts", n)
	}
	stopCPU := runAs(t, "cpuminer")
	defer stopCPU()
	waitFor(t, 30*time.Second, "the miner the exception does not cover raises its alert", func() (bool, string) {
		n := minerAlerts()
		return n == 1, fmt.Sprint(n)
	})
	if b, err := os.ReadFile(filepath.Join(state, "config", "runtime-exceptions.json")); err != nil || !strings.Contains(string(b), "the benchmark node") {
		t.Errorf("last good copy in the state dir: %s %v", b, err)
	}
}

// runAs runs sleep under another name; the returned func stops it.
func runAs(t *testing.T, name string) func() {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() {
		cmd.Process.Kill() //nolint:errcheck
		cmd.Wait()         //nolint:errcheck
	}
}

// TestClusterImageVulnsFromServer: the cluster agent feeds
// BW-K8S-IMAGE-VULNS with the server's verdicts and follows the server's
// policy config. A Deployment running an image the server knows as
// critical (the Debian test image, scanned from a real registry) is
// unhealthy on the server; one running an image the server has not seen
// is not judged, until the image is scanned and the agent's verdict
// refresh learns it; a policy config put on the server that disables the
// policy is in force without a restart and the results follow.
func TestClusterImageVulnsFromServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	known := pushImage(t, reg+"/team/debian:12", debianImage(t, false))
	srv, base := clusterServerWith(t, "critical")
	if _, err := srv.Watch.Add(ctx, registry.Config{Name: "local", URL: "http://" + reg}, ""); err != nil {
		t.Fatal(err)
	}
	crawled := func(digest string) {
		t.Helper()
		if err := srv.Watch.Crawl(ctx, "local"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, time.Minute, "image "+digest+" scanned from the registry", func() (bool, string) {
			r, err := srv.Store.Resource(ctx, digest)
			if err != nil {
				return false, err.Error()
			}
			return r.Health == "unhealthy", r.Health
		})
	}
	crawled(known)

	_, enrol, err := api.CreateToken(ctx, srv.Store, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, adminTok, err := api.CreateToken(ctx, srv.Store, api.TokenRequest{Name: "admin", Scopes: "admin,read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := client.New(base, adminTok, client.Options{Retries: -1})
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	conn, err := agent.Connect(ctx, agent.Options{Server: base, Token: enrol, StateDir: t.TempDir(), Kind: "cluster", Name: "test", Version: "dev", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pw, err := conn.PolicyConfigWatcher(100 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := agent.StartTestCluster(ctx, conn, agent.ClusterOptions{Cluster: &clusterscan.Cluster{Name: "test"}, Verdicts: conn.Client(), Policies: pw,
		Version: "dev", Logger: log}, testCluster)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	deploy := func(name, image string) {
		tc.Put("Deployment", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": name, "namespace": "shop", "uid": "uid-" + name},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": name, "image": image}}}}}})
	}
	tc.Put("Namespace", map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}})
	deploy("web", reg+"/team/debian:12")
	deploy("late", reg+"/team/late:1")
	tc.Resync(ctx)

	gate := func(name string) string {
		p, err := admin.Assessments(ctx, url.Values{"resource": {testCluster + "/shop/Deployment/" + name}, "rule": {"BW-K8S-IMAGE-VULNS"}})
		if err != nil {
			return err.Error()
		}
		if len(p.Items) == 0 {
			return "absent"
		}
		return string(p.Items[0].Status) + " " + strings.Join(p.Items[0].Evidence, "; ")
	}
	waitFor(t, 30*time.Second, "BW-K8S-IMAGE-VULNS unhealthy for the Deployment running the critical image", func() (bool, string) {
		s := gate("web")
		return strings.HasPrefix(s, "unhealthy") && strings.Contains(s, "critical"), s
	})
	if s := gate("late"); strings.HasPrefix(s, "unhealthy") || strings.HasPrefix(s, "healthy") {
		t.Errorf("an image the server has not seen was judged: %s", s)
	}

	// The image arrives in the registry and is scanned: the agent's
	// refresh of unknown verdicts learns it and the Deployment follows.
	crawled(pushImage(t, reg+"/team/late:1", debianImage(t, true)))
	waitFor(t, 30*time.Second, "the newly scanned image judged at the next verdict refresh", func() (bool, string) {
		tc.RefreshVerdicts(ctx)
		tc.Changes(ctx)
		s := gate("late")
		return strings.HasPrefix(s, "unhealthy"), s
	})

	// The server's policy config disables the policy: in force without a
	// restart.
	if _, err := admin.PutConfigDoc(ctx, "policies", "policies:\n  BW-K8S-IMAGE-VULNS: {mode: disabled}\n"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the policy disabled by the server's config", func() (bool, string) {
		tc.Changes(ctx)
		s := gate("web")
		return !strings.HasPrefix(s, "unhealthy"), s
	})
	if !strings.Contains(logs.String(), "new policy config from the server") {
		t.Error("the new policy config was not logged")
	}
}
