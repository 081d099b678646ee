package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// benchEngine is the full built-in rule set.
func benchEngine(b *testing.B, opts Options) *Engine {
	b.Helper()
	e, err := New(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

const podSpec = `{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-%d","namespace":"shop","labels":{"app":"web","pod-template-hash":"7d9f"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-7d9f","uid":"2b3c","controller":true}]},"spec":{"volumes":[{"name":"kube-api-access","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}}]}},{"name":"data","emptyDir":{}}],"containers":[{"name":"web","image":"registry.example/shop/web:1.4.2","ports":[{"containerPort":8080,"protocol":"TCP"}],"env":[{"name":"MODE","value":"prod"}],"resources":{"limits":{"cpu":"500m","memory":"256Mi"}},"volumeMounts":[{"name":"data","mountPath":"/data"}],"securityContext":{"runAsNonRoot":true,"allowPrivilegeEscalation":false}},{"name":"envoy","image":"envoyproxy/envoy:v1.31","securityContext":{"privileged":%v}}],"serviceAccountName":"web","nodeName":"node-2"}}`

// auditMix is a realistic API-server stream: mostly metadata-level
// get/list/watch of controllers and kubelets, some lease/endpoint updates,
// pod and deployment creations with request objects, secrets reads and
// role bindings.
func auditMix() []*event.Event {
	var evs []*event.Event
	add := func(n int, verb, res, sub, ns, user, obj string) {
		for i := range n {
			ev := &event.Event{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, Action: verb, Cluster: "prod",
				K8s: &event.K8sAudit{AuditID: fmt.Sprintf("a-%d", len(evs)), Stage: "ResponseComplete", Level: "Metadata",
					Verb: verb, User: user, Groups: []string{"system:authenticated"}, UserAgent: "kube-controller-manager/v1.36.0",
					SourceIPs: []string{"10.0.0.2"}, Resource: res, Subresource: sub, Namespace: ns,
					Name: fmt.Sprintf("obj-%d", i%7), Code: 200}}
			if obj != "" {
				ev.K8s.Level = "RequestResponse"
				o := obj
				if res == "pods" || res == "deployments" {
					o = fmt.Sprintf(obj, i, i%10 == 0)
				}
				ev.K8s.RequestObject = json.RawMessage(o)
				ev.K8s.Code = 201
			}
			evs = append(evs, ev)
		}
	}
	add(30, "get", "pods", "", "shop", "system:node:node-1", "")
	add(20, "list", "configmaps", "", "kube-system", "system:kube-controller-manager", "")
	add(15, "watch", "endpoints", "", "", "system:kube-proxy", "")
	add(5, "get", "nodes", "", "", "system:node:node-2", "")
	add(10, "update", "leases", "", "kube-node-lease", "system:node:node-1", "")
	add(3, "patch", "pods", "status", "shop", "system:node:node-1", "")
	add(5, "get", "secrets", "", "shop", "system:serviceaccount:shop:web", "")
	add(6, "create", "pods", "", "shop", "system:serviceaccount:kube-system:replicaset-controller", podSpec)
	add(2, "create", "deployments", "", "shop", "alice@example.com",
		`{"kind":"Deployment","metadata":{"name":"web-%d"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"web","image":"registry.example/shop/web:1.4.2","securityContext":{"privileged":%v}}]}}}}`)
	add(2, "create", "rolebindings", "", "shop", "alice@example.com",
		`{"kind":"RoleBinding","metadata":{"name":"rb"},"roleRef":{"kind":"ClusterRole","name":"edit"},"subjects":[{"kind":"User","name":"bob"}]}`)
	add(1, "create", "clusterrolebindings", "", "", "alice@example.com",
		`{"kind":"ClusterRoleBinding","metadata":{"name":"crb"},"roleRef":{"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"mallory"}]}`)
	add(1, "create", "pods", "exec", "shop", "alice@example.com", "")
	return evs
}

// fresh copies an event's audit part so the lazily decoded object is not
// reused across iterations (a source hands over new events).
func fresh(ev *event.Event) *event.Event {
	if ev.K8s == nil || len(ev.K8s.RequestObject) == 0 {
		return ev
	}
	cp := *ev
	k := event.K8sAudit{}
	k = *ev.K8s
	cp.K8s = &k
	return &cp
}

// cpuTime is the process's user+system CPU time. The development machine is
// shared, so wall-clock ns/op varies with its load; CPU time per event (GC
// included) is the figure that compares to "events per second per core".
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	per := float64(cpuTime()-start) / float64(b.N)
	b.ReportMetric(per, "cpu-ns/event")
	b.ReportMetric(1e9/per, "events/cpu-s")
}

func BenchmarkProcessAudit(b *testing.B) {
	e := benchEngine(b, Options{})
	evs := auditMix()
	alerts := 0
	emit := func(model.Alert) { alerts++ }
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		e.Process(fresh(evs[i%len(evs)]), emit)
	}
	reportCPU(b, cpu)
	if e.Stats().EvalErrors != 0 {
		b.Fatalf("eval errors: %+v", e.Stats())
	}
	if alerts == 0 {
		b.Fatal("no alerts: the mix should fire some rules")
	}
}

// BenchmarkProcessPodCreate: pod creations with request objects (one in
// ten privileged) through the built-in rules, the events whose container
// walks dominated the audit mix's cost.
func BenchmarkProcessPodCreate(b *testing.B) {
	e := benchEngine(b, Options{})
	var evs []*event.Event
	for _, ev := range auditMix() {
		if ev.K8s.Resource == "pods" && ev.K8s.Verb == "create" && len(ev.K8s.RequestObject) > 0 {
			evs = append(evs, ev)
		}
	}
	emit := func(model.Alert) {}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		e.Process(fresh(evs[i%len(evs)]), emit)
	}
	reportCPU(b, cpu)
	if e.Stats().EvalErrors != 0 {
		b.Fatalf("eval errors: %+v", e.Stats())
	}
}

// execMix: process executions in containers and on the host, mostly benign.
func execMix() []*event.Event {
	mk := func(host, cid, exe string, args ...string) *event.Event {
		ev := &event.Event{Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: host,
			Process: &event.Process{PID: 1000, PPID: 1, UID: 1000, EUID: 1000, Exe: exe, Name: filepath.Base(exe),
				Args: args, Cmdline: fmt.Sprint(args), ParentExe: "/bin/sh", ParentName: "sh"}}
		if cid != "" {
			ev.Container = &event.Container{ID: cid, Name: "web", Image: "registry.example/web:1", Namespace: "shop", Pod: "web-1"}
		}
		return ev
	}
	var evs []*event.Event
	for i := range 10 {
		cid := fmt.Sprintf("%064d", i)
		evs = append(evs,
			mk("node-1", cid, "/usr/bin/python3", "python3", "app.py"),
			mk("node-1", cid, "/bin/ls", "ls", "-la", "/data"),
			mk("node-1", cid, "/bin/cat", "cat", "/etc/hostname"),
			mk("node-1", "", "/usr/bin/containerd-shim", "containerd-shim", "-namespace", "k8s.io"),
			mk("node-1", cid, "/usr/bin/curl", "curl", "-s", "http://api.internal/health"),
			mk("node-1", "", "/usr/sbin/iptables", "iptables", "-w", "-L"),
			mk("node-2", cid, "/usr/bin/id", "id"),
			mk("node-2", cid, "/usr/bin/node", "node", "server.js"),
		)
	}
	return evs
}

func BenchmarkProcessExec(b *testing.B) {
	e := benchEngine(b, Options{})
	evs := execMix()
	emit := func(model.Alert) {}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		e.Process(evs[i%len(evs)], emit)
	}
	reportCPU(b, cpu)
	if e.Stats().EvalErrors != 0 {
		b.Fatalf("eval errors: %+v", e.Stats())
	}
}

// BenchmarkCorrelationMemory streams exec events over an unbounded number of
// correlation keys (a new container every few events, as in a busy
// cluster) and reports the live heap at the end: it must stay flat however
// many events pass (run with -benchtime=5000000x).
func BenchmarkCorrelationMemory(b *testing.B) {
	// Only the correlated rules (built-in and one on every exec), so that
	// millions of events run in seconds; they are what holds state.
	rs, err := Load(context.Background(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	var corr []*Rule
	for _, r := range rs.Enabled() {
		if r.Correlate != nil || r.Sequence != nil {
			corr = append(corr, r)
		}
	}
	every, err := ParseRules("bench", []byte(`id: BENCH_EveryExec
title: distinct programs per container
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: "true"
correlate: {key: evt.container.id, window: 10m, threshold: 1000, distinct: evt.process.exe}
`))
	if err != nil {
		b.Fatal(err)
	}
	rs.Rules = append(corr, every...)
	const maxKeys = 10000
	e, err := NewFromSet(rs, Options{MaxKeys: maxKeys})
	if err != nil {
		b.Fatal(err)
	}
	emit := func(model.Alert) {}
	ev := &event.Event{Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "node-1",
		Process: &event.Process{}, Container: &event.Container{}}
	// recon and download commands so both correlation kinds hold state
	names := []string{"/usr/bin/whoami", "/usr/bin/curl", "/usr/bin/id", "/bin/uname"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ev.Time = t0.Add(time.Duration(i) * timeStep)
		ev.Container.ID = fmt.Sprintf("c%d", i/3) // a new key every 3 events
		ev.Process.Exe = names[i%len(names)]
		ev.Process.Args = []string{ev.Process.Exe, "-o", fmt.Sprintf("/tmp/f%d", i/3)}
		e.Process(ev, emit)
	}
	b.StopTimer()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "MiB-heap")
	keys := 0
	for id, st := range e.Stats().Rules {
		keys += st.Keys
		if st.Keys > maxKeys {
			b.Fatalf("rule %s holds %d keys, cap %d", id, st.Keys, maxKeys)
		}
	}
	b.ReportMetric(float64(keys), "keys")
}

// Events 1 ms apart: windows (60 s, 5 m) hold tens of thousands of keys'
// worth of events, so the cap, not expiry, is what bounds memory.
const timeStep = 1_000_000 // ns
