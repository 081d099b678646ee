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
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// nodeRoot is a host tree with a kubelet's files as kubeadm lays them
// out: kubelet.conf 0600 (CIS 4.1.5 passes) and config.yaml 0644 (4.1.9
// fails). No kubelet runs on this machine: its flag checks must say so.
func nodeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []struct {
		path, body string
		mode       os.FileMode
	}{
		{"etc/kubernetes/kubelet.conf", "apiVersion: v1\nkind: Config\n", 0o600},
		{"var/lib/kubelet/config.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  anonymous:\n    enabled: true\n", 0o644},
		{"etc/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", 0o644},
	} {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), f.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, f.mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	return root
}

// TestNodeAgent runs the node agent as a host process's goroutine against
// a real server: the node appears in the inventory under the cluster
// agent's id for it (cluster/node) with its kernel and OS; its CIS
// Kubernetes node results arrive (a failing and a passing file
// permission, and the kubelet's flag checks not applicable: no kubelet
// runs here); a process named like a miner, seen by the /proc source,
// is an alert on the same node resource.
func TestNodeAgent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clusterID := "5f0c2c3e-6b1d-4c8e-9a57-2f9e1d7b0a11"
	srv, base, enrol, rc := nodeTestServer(t, clusterID, "read")

	node := fmt.Sprintf("bulwark-node-%d", os.Getpid())
	nodeID := agent.NodeID(clusterID, node)
	root := nodeRoot(t)
	startNodeAgent(ctx, t, base, enrol, t.TempDir(), false, agent.NodeOptions{ClusterID: clusterID, NodeName: node, Root: root,
		BenchInterval: 300 * time.Millisecond})

	// The node, under the id the inventory gives a cluster's node.
	waitFor(t, 30*time.Second, "the node on the server", func() (bool, string) {
		d, err := rc.Resource(ctx, nodeID)
		if err != nil {
			return false, err.Error()
		}
		f := d.Facts
		return d.Kind == k8sbench.KindNode && d.Parent == clusterID && f["kernel"] != "" && f["os"] == "Debian GNU/Linux 12 (bookworm)",
			fmt.Sprintf("%s %s %v", d.Kind, d.Parent, f)
	})
	// This machine runs containerd (under Docker): the runtime is seen
	// from its process, as in the DaemonSet, which mounts no socket.
	if exec.Command("pidof", "containerd").Run() == nil {
		if d, err := rc.Resource(ctx, nodeID); err != nil || d.Facts["container_runtime"] != "containerd" {
			t.Errorf("container runtime fact: %v %v, want containerd", d.Facts, err)
		}
	}
	assessment := func(rule string) nodeAssessment {
		p, err := rc.Assessments(ctx, url.Values{"resource": {nodeID}, "rule": {rule}})
		if err != nil || len(p.Items) != 1 {
			return nodeAssessment{err: fmt.Sprint(p, err)}
		}
		return nodeAssessment{status: p.Items[0].Status, evidence: strings.Join(p.Items[0].Evidence, "; ")}
	}
	for _, c := range []struct {
		rule, evidence string
		want           model.AssessmentStatus
	}{
		{"CIS-K8S-4.1.9", "/var/lib/kubelet/config.yaml: mode 0644 (more permissive than 0600)", model.AssessUnhealthy},
		{"CIS-K8S-4.1.5", "/etc/kubernetes/kubelet.conf: mode 0600", model.AssessHealthy},
		{"CIS-K8S-4.2.1", "no kubelet process on this node", model.AssessNotApplicable},
	} {
		waitFor(t, 20*time.Second, c.rule+" "+string(c.want), func() (bool, string) {
			a := assessment(c.rule)
			return a.status == c.want && strings.Contains(a.evidence, c.evidence), fmt.Sprintf("%+v", a)
		})
	}
	// No kubelet here: none of its flag checks may pass.
	p, err := rc.Assessments(ctx, url.Values{"resource": {nodeID}, "limit": {"500"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Items {
		if strings.HasPrefix(a.Rule, "CIS-K8S-4.2.") && a.Status != model.AssessNotApplicable {
			t.Errorf("%s: %s %v, want not-applicable without a kubelet", a.Rule, a.Status, a.Evidence)
		}
	}

	// A miner's name on a real process: the /proc source sees it.
	miner := filepath.Join(t.TempDir(), "xmrig")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("needs sleep")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(miner, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(miner, "5")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()         //nolint:errcheck
	defer cmd.Process.Kill() //nolint:errcheck
	waitFor(t, 30*time.Second, "the miner alert on the node", func() (bool, string) {
		p, err := rc.Alerts(ctx, url.Values{"type": {"K8S.NODE_CryptoCoinMinerArtifacts"}})
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, a := range p.Items {
			if a.Resource.ID == nodeID && a.Resource.Kind == k8sbench.KindNode {
				return true, ""
			}
			seen = append(seen, string(a.Resource.Kind)+" "+a.Resource.ID)
		}
		return false, strings.Join(seen, ", ")
	})

	// The server goes away; the kubelet config is fixed meanwhile; after
	// the restart the result has flipped (the report waited in the
	// outbox, or the next one was sent).
	srv.stop()
	if err := os.Chmod(filepath.Join(root, "var/lib/kubelet/config.yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	srv.start()
	waitFor(t, 30*time.Second, "CIS-K8S-4.1.9 healthy after the outage", func() (bool, string) {
		a := assessment("CIS-K8S-4.1.9")
		return a.status == model.AssessHealthy, fmt.Sprintf("%+v", a)
	})
	var agents struct {
		Items []struct {
			Kind, Name string
		} `json:"items"`
	}
	if err := rc.Get(ctx, "/api/v1/agents", nil, &agents); err != nil || len(agents.Items) != 1 || agents.Items[0].Kind != "node" || agents.Items[0].Name != node {
		t.Errorf("agents: %+v %v", agents, err)
	}
}

type nodeAssessment struct {
	status   model.AssessmentStatus
	evidence string
	err      string
}

// TestAssessNodeNoKubelet: on a host with no Kubernetes at all, nothing
// of section 4 passes: files not found are not applicable, naming where
// they were looked for, and the kubelet's checks say no kubelet runs.
func TestAssessNodeNoKubelet(t *testing.T) {
	root := t.TempDir()
	rep, err := agent.AssessNode(context.Background(), agent.NodeOptions{ClusterID: "c1", NodeName: "n1", Root: root, Proc: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resource.ID != "c1" || len(rep.Results) != 1 || rep.Results[0].Resource.ID != "c1/n1" || rep.Results[0].Resource.Parent != "c1" {
		t.Fatalf("resources: cluster %+v results %+v", rep.Resource, rep.Results)
	}
	if len(rep.Results[0].Assessments) == 0 {
		t.Fatal("no assessments")
	}
	for _, a := range rep.Results[0].Assessments {
		if !strings.HasPrefix(a.Rule, "CIS-K8S-4.") {
			t.Errorf("%s assessed: only section 4 by default", a.Rule)
		}
		if a.Status == model.AssessHealthy || a.Status == model.AssessUnhealthy || len(a.Evidence) == 0 {
			t.Errorf("%s: %s %v, want not applicable or not assessed with a reason", a.Rule, a.Status, a.Evidence)
		}
	}
}

// BenchmarkAssessNode: one CIS node assessment of this host (every
// /proc entry read for the components, the layout's files stat'ed, the
// section 4 controls evaluated): what the agent pays every interval.
func BenchmarkAssessNode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := agent.AssessNode(context.Background(), agent.NodeOptions{ClusterID: "c1", NodeName: "n1"}); err != nil {
			b.Fatal(err)
		}
	}
}

// nodeTestServer starts a real server for a node agent's test: an
// enrolment token bound to the cluster by id (the node's reports and alerts
// are the cluster's to write) and a client with scopes for the test's own
// reads and changes.
func nodeTestServer(t *testing.T, clusterID, scopes string) (srv *testServer, base, enrol string, c *client.Client) {
	t.Helper()
	ctx := context.Background()
	srv, _ = newTestServer(t)
	base = "http://" + srv.addr
	st := openStore(t, srv.o.DataDir)
	defer st.Close()
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h", Resource: "cluster/" + clusterID}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, tok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "test", Scopes: scopes}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err = client.New(base, tok, client.Options{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, base, enrol, c
}

// startNodeAgent enrols a node agent with enrol and runs it with o (the
// /proc source every 200 ms, a 1 s alert window; with serverExceptions the
// server's run-time exceptions polled every 200 ms) until ctx ends or the
// test does; its log is returned and shown when the test fails.
func startNodeAgent(ctx context.Context, t *testing.T, base, enrol, state string, serverExceptions bool, o agent.NodeOptions) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	conn, err := agent.Connect(ctx, agent.Options{Server: base, Token: enrol, StateDir: state, Kind: "node", Name: o.NodeName,
		Version: "v1.4.0", Heartbeat: time.Second, Logger: log})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if o.Engine, err = runtime.New(ctx, runtime.Options{Logger: log}); err != nil {
		cancel()
		t.Fatal(err)
	}
	if serverExceptions {
		if o.Exceptions, err = conn.RuntimeExceptions(200 * time.Millisecond); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	o.Sources = watch.SourceConfig{Proc: true, ProcInterval: 200 * time.Millisecond}
	o.Window, o.Version, o.Logger = time.Second, "v1.4.0", log
	done := make(chan error, 1)
	go func() { done <- agent.RunNode(ctx, conn, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		conn.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	return logs
}
