package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/memtrim"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/remoteconfig"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/watch"
)

// NodeOptions configure the node agent (the DaemonSet's pod, or a host
// process on a node).
type NodeOptions struct {
	// ClusterID is the cluster the node belongs to: its kube-system
	// namespace's UID, as the cluster agent and bench k8s name it.
	// Required: the node's resource id is ClusterID/NodeName.
	ClusterID string
	// ClusterName is the cluster's display name ("": the server keeps
	// the one the cluster agent gave).
	ClusterName string
	// NodeName is the node's name (default: the host's name).
	NodeName string
	// Root is where the host's filesystem is mounted ("/" on the host,
	// "/host" in the DaemonSet's pod).
	Root string
	// Proc is the host's process table (default /proc: the DaemonSet's
	// pod shares the host's PID namespace).
	Proc string
	// Targets are the CIS Kubernetes targets assessed (default node, the
	// worker section 4; add master, etcd, controlplane on control-plane
	// nodes).
	Targets []k8sbench.Target
	// BenchInterval re-runs the assessment this often (default 1h): a
	// node's files and kubelet flags change with deployments, not events.
	BenchInterval time.Duration
	// Engine and Sources run the run-time watch; nil Engine: no watch.
	Engine  *runtime.Engine
	Sources watch.SourceConfig
	// Exceptions, when set, follows the server's run-time exceptions
	// (Conn.RuntimeExceptions): loaded before the first event, polled.
	Exceptions *remoteconfig.Watcher
	// Window aggregates repeats of one alert (default 10m).
	Window  time.Duration
	Version string
	Logger  *slog.Logger
	Now     func() time.Time
}

// NodeStats count what the node agent did.
type NodeStats struct {
	Assessments    uint64    `json:"assessments"`
	AssessErrors   uint64    `json:"assess_errors"`
	LastAssessment time.Time `json:"last_assessment,omitzero"`
	Alerts         uint64    `json:"alerts"`
}

type nodeAgent struct {
	o      NodeOptions
	c      *Conn
	log    *slog.Logger
	nodeID string
	trim   *memtrim.Releaser

	assessments, assessErrors, alerts atomic.Uint64
	mu                                sync.Mutex
	last                              time.Time
}

// NodeID is the resource id of a Kubernetes node, as docs/schema.md and
// bench k8s name it: <cluster id>/<node name>.
func NodeID(clusterID, node string) string { return clusterID + "/" + node }

// RunNode runs the node agent until ctx ends: the node's resource (name,
// kernel, OS, container runtime, Kubernetes layout) with its CIS
// Kubernetes node assessment at start and every BenchInterval, sent when
// it changed; the run-time watch (eBPF or /proc, auditd) whose alerts
// about the node name the node's inventory resource; and the heartbeat.
func RunNode(ctx context.Context, c *Conn, o NodeOptions) error {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClusterID == "" {
		return errors.New("node agent: no cluster id (the kube-system namespace's UID)")
	}
	if o.NodeName == "" {
		o.NodeName, _ = os.Hostname()
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if len(o.Targets) == 0 {
		o.Targets = []k8sbench.Target{k8sbench.TargetNode}
	}
	if o.BenchInterval <= 0 {
		o.BenchInterval = time.Hour
	}
	for _, t := range o.Targets {
		if !t.NodeSide() {
			return fmt.Errorf("node agent: target %s is assessed from the API (the cluster agent or bench k8s), not on a node", t)
		}
	}
	a := &nodeAgent{o: o, c: c, log: o.Logger.With("node", o.NodeName), nodeID: NodeID(o.ClusterID, o.NodeName),
		trim: memtrim.NewReleaser(o.Logger, 0, 0)}
	defer a.trim.Stop()

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(ctx, a.health) }()
	if o.Engine != nil {
		sc := o.Sources
		if sc.Node == "" {
			sc.Node = o.NodeName
		}
		sink := &nodeSink{next: c.Sink(), node: o.NodeName, nodeID: a.nodeID, clusterID: o.ClusterID, sent: &a.alerts}
		if err := startAlerts(ctx, &wg, c, AlertOptions{Engine: o.Engine, Sources: sc, Window: o.Window, Sink: sink,
			Exceptions: o.Exceptions, Logger: o.Logger, Name: "node agent run-time watch"}); err != nil {
			return err
		}
	}
	tick := time.NewTicker(o.BenchInterval)
	defer tick.Stop()
	for {
		a.bench(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (a *nodeAgent) health() map[string]any {
	a.mu.Lock()
	last := a.last
	a.mu.Unlock()
	return map[string]any{"node": NodeStats{Assessments: a.assessments.Load(), AssessErrors: a.assessErrors.Load(),
		LastAssessment: last, Alerts: a.alerts.Load()}}
}

// bench assesses the node and queues the report when it changed.
func (a *nodeAgent) bench(ctx context.Context) {
	rep, err := AssessNode(ctx, a.o)
	if err != nil {
		a.assessErrors.Add(1)
		a.log.Error("CIS Kubernetes node assessment failed; retried at the next interval", "root", a.o.Root, "err", err)
		return
	}
	doc, err := json.Marshal(rep)
	if err != nil {
		a.log.Error("encoding the node report", "err", err)
		return
	}
	if err := a.c.Send(ctx, "k8s-bench/"+a.nodeID, nodeHashInput(rep), doc); err != nil {
		a.log.Error("queueing the node report", "err", err)
		return
	}
	a.assessments.Add(1)
	a.mu.Lock()
	a.last = a.o.Now()
	a.mu.Unlock()
	a.trim.Soon() // start-up and the assessment's memory, once quiet
	a.log.Debug("CIS Kubernetes node assessment done", "unhealthy", rep.Summary.Unhealthy, "total", rep.Summary.Total)
}

// AssessNode collects the node's facts and evaluates the CIS Kubernetes
// node controls of o.Targets: the bench k8s report of one node, naming
// the cluster by o.ClusterID and the node as the inventory does, with the
// node's kernel, OS and container runtime among its facts. On a host
// without a kubelet the kubelet's controls say so (not applicable, or not
// assessed when the processes cannot be read): nothing passes for want
// of data.
func AssessNode(ctx context.Context, o NodeOptions) (*k8sbench.Report, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Proc == "" {
		o.Proc = "/proc"
	}
	if len(o.Targets) == 0 {
		o.Targets = []k8sbench.Target{k8sbench.TargetNode}
	}
	n, err := k8sbench.CollectNode(ctx, k8sbench.NodeOptions{Root: o.Root, Proc: o.Proc, Name: o.NodeName, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	s := &k8sbench.Snapshot{Profile: k8sbench.Profiles["generic"], Node: n, Missing: map[k8sbench.Source]string{}, Failed: map[k8sbench.Source]string{}}
	rep := k8sbench.Run(s, k8sbench.Options{Targets: o.Targets, Version: o.Version}, o.Now())
	// The report names the cluster by id only: its name and facts are the
	// cluster agent's to give (an empty field keeps the stored one).
	rep.Resource = model.Resource{Kind: k8sbench.KindCluster, ID: o.ClusterID, Name: o.ClusterName}
	facts := hostFacts(o.Root, o.Proc, n)
	for i := range rep.Results {
		r := &rep.Results[i].Resource
		if r.Kind != k8sbench.KindNode {
			continue
		}
		r.ID, r.Parent = NodeID(o.ClusterID, r.Name), o.ClusterID
		if r.Facts == nil {
			r.Facts = map[string]string{}
		}
		for k, v := range facts {
			r.Facts[k] = v
		}
		r.Labels = map[string]string{"cluster": o.ClusterID}
		if o.ClusterName != "" {
			r.Labels["cluster"] = o.ClusterName
		}
	}
	return rep, nil
}

// nodeHashInput is the report without its times: two assessments of an
// unchanged node hash the same.
func nodeHashInput(rep *k8sbench.Report) any {
	r := *rep
	r.GeneratedAt = time.Time{}
	rs := make([]k8sbench.ResourceResult, len(rep.Results))
	for i, res := range rep.Results {
		as := make([]model.Assessment, len(res.Assessments))
		for j, x := range res.Assessments {
			x.ObservedAt = time.Time{}
			as[j] = x
		}
		rs[i] = k8sbench.ResourceResult{Resource: res.Resource, Assessments: as}
	}
	r.Results = rs
	return r
}

// runtimeSockets are where container runtimes listen, in the order a
// kubelet would be configured for them; the first found names the node's
// runtime when the kubelet's flags do not.
var runtimeSockets = []struct{ path, name string }{
	{"run/containerd/containerd.sock", "containerd"},
	{"run/crio/crio.sock", "cri-o"},
	{"var/run/crio/crio.sock", "cri-o"},
	{"run/k3s/containerd/containerd.sock", "containerd (k3s)"},
	{"run/cri-dockerd.sock", "docker (cri-dockerd)"},
	{"run/docker.sock", "docker"},
	{"var/run/docker.sock", "docker"},
}

// hostFacts are what the inventory shows of a node: kernel, OS,
// architecture and the container runtime. A fact that cannot be read is
// left out, never guessed.
func hostFacts(root, proc string, n *k8sbench.Node) map[string]string {
	f := map[string]string{"arch": goruntime.GOARCH}
	if b, err := os.ReadFile(filepath.Join(proc, "sys", "kernel", "osrelease")); err == nil {
		f["kernel"] = strings.TrimSpace(string(b))
	}
	if r, err := os.OpenRoot(root); err == nil {
		defer r.Close()
		for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
			if b, err := r.ReadFile(p); err == nil {
				if name := osName(b); name != "" {
					f["os"] = name
					break
				}
			}
		}
		if n != nil && n.Kubelet != nil {
			if s := n.Kubelet["container-runtime-endpoint"]; s.Set && s.Value != "" {
				f["container_runtime_endpoint"] = s.Value
			}
		}
		if name := runtimeProcess(proc); name != "" {
			f["container_runtime"] = name
		} else {
			for _, s := range runtimeSockets {
				if fi, err := r.Lstat(s.path); err == nil && fi.Mode()&os.ModeSocket != 0 {
					f["container_runtime"] = s.name
					f["container_runtime_socket"] = "/" + s.path
					break
				}
			}
		}
	}
	return f
}

// runtimeDaemons are container runtimes by process name, the
// Kubernetes-facing one first (a node may run dockerd beside
// containerd, which then serves the kubelet).
var runtimeDaemons = []struct{ comm, name string }{
	{"crio", "cri-o"},
	{"cri-dockerd", "docker (cri-dockerd)"},
	{"containerd", "containerd"},
	{"dockerd", "docker"},
}

// runtimeProcess names the container runtime running on the host, from
// the process names in proc ("" when none is seen). The DaemonSet's pod
// shares the host's PID namespace and mounts no runtime socket.
func runtimeProcess(proc string) string {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return ""
	}
	found := map[string]bool{}
	for _, e := range ents {
		if c := e.Name()[0]; c < '0' || c > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, e.Name(), "comm"))
		if err == nil {
			found[strings.TrimSpace(string(b))] = true
		}
	}
	for _, d := range runtimeDaemons {
		if found[d.comm] {
			return d.name
		}
	}
	return ""
}

// osName is os-release's PRETTY_NAME, else NAME VERSION_ID.
func osName(b []byte) string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		kv[k] = strings.Trim(v, `"'`)
	}
	if v := kv["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(kv["NAME"] + " " + kv["VERSION_ID"])
}

// nodeSink names the node in its alerts as the inventory does: a host
// alert about this node becomes an alert about the node resource
// (cluster/node), so the node's alerts, assessments and facts are one
// resource on the server; a container's parent is the node.
type nodeSink struct {
	next                    alert.Sink
	node, nodeID, clusterID string
	sent                    *atomic.Uint64
}

var _ alert.Sink = (*nodeSink)(nil)

func (s *nodeSink) Send(ctx context.Context, a model.Alert) error {
	switch {
	case a.Resource.Kind == model.KindHost && a.Resource.ID == "host:"+s.node:
		a.Resource = model.Resource{Kind: k8sbench.KindNode, ID: s.nodeID, Name: s.node, Parent: s.clusterID}
		a.ID = runtime.AlertID(a.Type, a.Resource.ID)
	case a.Resource.Kind == model.KindContainer && a.Resource.Parent == s.node:
		a.Resource.Parent = s.nodeID
	}
	s.sent.Add(1)
	return s.next.Send(ctx, a)
}

func (s *nodeSink) Close() error { return s.next.Close() }
