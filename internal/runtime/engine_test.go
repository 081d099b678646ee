package runtime

import (
	"fmt"

	"bytes"
	"context"
	"encoding/json"
	"flag"
	"github.com/google/cel-go/common/types"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// writeFiles writes name → content into a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// engineFor builds an engine from user rules only (plus the built-in lists).
func engineFor(t *testing.T, opts Options, rules ...string) *Engine {
	t.Helper()
	files := map[string]string{}
	for i, r := range rules {
		files[filepath.Join("r", "rule"+string(rune('a'+i))+".yaml")] = r
	}
	dir := writeFiles(t, files)
	opts.NoBuiltins = true
	opts.RuleDirs = append(opts.RuleDirs, filepath.Join(dir, "r"))
	e, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func collect(e *Engine, evs ...*event.Event) []model.Alert {
	var out []model.Alert
	for _, ev := range evs {
		e.Process(ev, func(a model.Alert) { out = append(out, a) })
	}
	return out
}

var t0 = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func auditEvent(verb, resource, ns, name string, obj string) *event.Event {
	ev := &event.Event{Time: t0, Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, Action: verb, Cluster: "prod",
		K8s: &event.K8sAudit{Verb: verb, User: "system:serviceaccount:ci:deployer", Groups: []string{"system:serviceaccounts"},
			UserAgent: "kubectl/v1.36", SourceIPs: []string{"10.0.0.7"}, Resource: resource, Namespace: ns, Name: name, Code: 201}}
	if obj != "" {
		ev.K8s.RequestObject = json.RawMessage(obj)
		ev.Raw = json.RawMessage(`{"kind":"Event","verb":"` + verb + `"}`)
	}
	return ev
}

func execEvent(exe string, args ...string) *event.Event {
	return &event.Event{Time: t0, Source: event.SourceEBPF, Kind: event.KindProcessExec, Host: "node-1",
		Process: &event.Process{PID: 4242, PPID: 1, UID: 0, EUID: 0, User: "root", Exe: exe, Name: filepath.Base(exe),
			Args: args, Cmdline: strings.Join(args, " ")}}
}

// TestAlertsGolden checks whole alerts (resource, actor, evidence,
// properties) of the built-in example rules.
func TestAlertsGolden(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	privPod := `{"kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[{"name":"app","image":"nginx","securityContext":{"privileged":true}},{"name":"side","image":"envoy"}]}}`
	privDeploy := `{"kind":"Deployment","metadata":{"name":"api"},"spec":{"template":{"spec":{"containers":[{"name":"api","image":"api:1","securityContext":{"privileged":true}}]}}}}`
	shell := execEvent("/bin/bash", "bash", "-i")
	shell.Process.StdioSocket, shell.Process.StdioPeer = true, "203.0.113.9:4444"
	shell.Container = &event.Container{ID: strings.Repeat("ab", 32), Name: "web-app", Image: "nginx:1.27", Namespace: "shop", Pod: "web-7d9"}
	hostShell := execEvent("/usr/bin/dash", "sh")
	hostShell.Process.StdioSocket = true
	evs := []*event.Event{
		auditEvent("create", "pods", "shop", "", privPod),
		auditEvent("create", "deployments", "shop", "api", privDeploy),
		auditEvent("get", "pods", "shop", "web", ""), // no alert
		shell,
		hostShell,
	}
	got := collect(e, evs...)
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "alerts.golden")
	if *update {
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(b)) {
		t.Errorf("alerts differ from %s (run with -update):\n%s", golden, b)
	}
	if len(got) != 4 {
		t.Fatalf("got %d alerts, want 4", len(got))
	}
	if got[0].ID != AlertID("K8S_PrivilegedContainer", "prod/shop/Pod/web") {
		t.Errorf("alert id %s is not the hash of type and resource id", got[0].ID)
	}
	if got[2].Resource.Kind != model.KindContainer || got[3].Resource.Kind != model.KindHost {
		t.Errorf("resources: %+v, %+v", got[2].Resource, got[3].Resource)
	}
	st := e.Stats()
	if st.Events != 5 || st.Alerts != 4 || st.Rules["K8S_PrivilegedContainer"].Matches != 2 {
		t.Errorf("stats: %+v", st)
	}
}

const ruleAny = `id: T_Any
title: any exec
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: evt.process.name != ""
`

func TestUserRulesReplaceAndDisable(t *testing.T) {
	override := `id: K8S.NODE_ReverseShell
title: my reverse shell
severity: high
sources: [ebpf]
kinds: [process.exec]
condition: evt.process.stdio_socket
`
	off := "id: K8S_PrivilegedContainer\nenabled: false\n"
	dir := writeFiles(t, map[string]string{"a.yaml": override, "b.yaml": off})
	rs, err := Load(context.Background(), Options{RuleDirs: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewFromSet(rs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*Rule{}
	for _, r := range e.Rules() {
		ids[r.ID] = r
	}
	if _, ok := ids["K8S_PrivilegedContainer"]; ok {
		t.Error("enabled: false did not turn the built-in off")
	}
	if r := ids["K8S.NODE_ReverseShell"]; r == nil || r.Title != "my reverse shell" || r.File != filepath.Join(dir, "a.yaml") {
		t.Errorf("user rule did not replace the built-in: %+v", r)
	}
	ev := execEvent("/usr/bin/python3", "python3")
	ev.Process.StdioSocket = true
	if got := collect(e, ev); len(got) != 1 || got[0].Severity != model.SeverityHigh {
		t.Errorf("got %+v", got)
	}
}

func TestListsAppend(t *testing.T) {
	dir := writeFiles(t, map[string]string{"l.yaml": "lists:\n  shells: [nu]\n  mine: [x]\n"})
	rs, err := Load(context.Background(), Options{ListDirs: []string{dir}, NoBuiltins: true})
	if err != nil {
		t.Fatal(err)
	}
	sh := rs.Lists["shells"]
	if len(sh) < 2 || sh[len(sh)-1] != "nu" || !contains(sh, "bash") || len(rs.Lists["mine"]) != 1 {
		t.Errorf("lists not appended: %v", rs.Lists)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// TestLoadErrors: every bad rule is an error naming the file and rule.
func TestLoadErrors(t *testing.T) {
	base := "id: T_Bad\ntitle: t\nseverity: low\nsources: [ebpf]\nkinds: [process.exec]\n"
	cases := []struct{ name, rule, want string }{
		{"unknown field", base + "condition: \"true\"\nconditon: x\n", "field conditon not found"},
		{"bad CEL", base + "condition: evt.process.exe ==\n", "condition"},
		{"unknown event field", base + "condition: evt.process.nope == 1\n", "undefined field 'nope'"},
		{"not bool", base + "condition: evt.process.exe\n", "want bool"},
		{"unknown list", base + "condition: evt.process.name in lists.nope\n", "undefined field 'nope'"},
		{"bad output", base + "condition: \"true\"\noutput: {x: 'evt.container.labels'}\n", "output x"},
		{"bad severity", strings.Replace(base, "low", "urgent", 1) + "condition: \"true\"\n", "severity"},
		{"bad source", strings.Replace(base, "[ebpf]", "[kafka]", 1) + "condition: \"true\"\n", "unknown source"},
		{"no condition", base, "condition is required"},
		{"bad window", base + "condition: \"true\"\ncorrelate: {key: evt.host, window: soon, threshold: 2}\n", "duration"},
		{"bad key type", base + "condition: \"true\"\ncorrelate: {key: evt.process.pid, window: 1m, threshold: 2}\n", "correlate.key"},
		{"bad test event", base + "condition: \"true\"\ntests: [{name: x, fire: true, events: [{procss: {}}]}]\n", "unknown field"},
		{"both", base + "condition: \"true\"\ncorrelate: {key: evt.host, window: 1m, threshold: 2}\nsequence: {key: evt.host, window: 1m, first: \"true\"}\n", "exclusive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"bad.yaml": tc.rule})
			_, err := New(context.Background(), Options{RuleDirs: []string{dir}, NoBuiltins: true})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "bad.yaml") {
				t.Errorf("error %q: want it to name bad.yaml and contain %q", msg, tc.want)
			}
			if !strings.Contains(msg, "T_Bad") {
				t.Errorf("error %q does not name the rule", msg)
			}
		})
	}
}

func TestExceptions(t *testing.T) {
	rule := `id: T_Exec
title: exec
severity: low
sources: [ebpf, k8s-audit]
kinds: [process.exec, k8s.audit]
condition: "true"
`
	exc := `exceptions:
  - rules: [T_Exec]
    namespaces: [ci-*]
    reason: CI
  - rules: ["T_*"]
    images: [registry.internal/debug/*]
    processes: [/usr/bin/ssh*]
    reason: debug images
  - rules: ["*"]
    users: [alice]
    reason: alice
    expires: 2020-01-01
  - rules: [T_Exec]
    hosts: [build-*]
    reason: build hosts
    expires: 2999-01-01
`
	dir := writeFiles(t, map[string]string{"ex.yaml": exc})
	var logs bytes.Buffer
	e := engineFor(t, Options{ExceptionFiles: []string{filepath.Join(dir, "ex.yaml")},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, rule)
	ci := execEvent("/bin/ls", "ls")
	ci.Container = &event.Container{ID: "c1", Namespace: "ci-42"}
	debug := execEvent("/usr/bin/ssh", "ssh", "x")
	debug.Container = &event.Container{ID: "c2", Image: "registry.internal/debug/tools:1"}
	debugOtherProc := execEvent("/bin/sh", "sh")
	debugOtherProc.Container = &event.Container{ID: "c2", Image: "registry.internal/debug/tools:1"}
	alice := execEvent("/bin/ls", "ls")
	alice.Process.User = "alice"
	build := execEvent("/bin/ls", "ls")
	build.Host = "build-3"
	podOK := auditEvent("create", "pods", "web", "p", `{"spec":{"containers":[{"image":"registry.internal/debug/a"}]}}`)
	podMixed := auditEvent("create", "pods", "web", "p", `{"spec":{"containers":[{"image":"registry.internal/debug/a"},{"image":"evil/x"}]}}`)
	cases := []struct {
		name  string
		ev    *event.Event
		alert bool
	}{
		{"namespace glob", ci, false},
		{"image and process", debug, false},
		{"image but not process", debugOtherProc, true},
		{"expired exception", alice, true},
		{"host, not expired", build, false},
		{"audit pod, images covered", podOK, true}, // second exception also needs processes
		{"audit pod, one image not covered", podMixed, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := collect(e, tc.ev)
			if (len(got) == 1) != tc.alert {
				t.Errorf("alerts %d, want alert=%v", len(got), tc.alert)
			}
		})
	}
	collect(e, alice) // expired again: still one log line
	if n := strings.Count(logs.String(), "exception expired"); n != 1 {
		t.Errorf("expired exception logged %d times, want once:\n%s", n, logs.String())
	}
	if st := e.Stats(); st.Excepted != 3 || st.Rules["T_Exec"].Excepted != 3 {
		t.Errorf("excepted: %+v", st)
	}
}

func TestExceptionImagesOnAuditPod(t *testing.T) {
	rule := "id: T_Pod\ntitle: pod\nseverity: info\nsources: [k8s-audit]\nkinds: [k8s.audit]\ncondition: 'true'\n"
	dir := writeFiles(t, map[string]string{"ex.yaml": "exceptions:\n  - rules: [T_Pod]\n    images: [registry.internal/*]\n    reason: ours\n"})
	e := engineFor(t, Options{ExceptionFiles: []string{filepath.Join(dir, "ex.yaml")}}, rule)
	ok := auditEvent("create", "deployments", "web", "d", `{"spec":{"template":{"spec":{"containers":[{"image":"registry.internal/a"}],"initContainers":[{"image":"registry.internal/b"}]}}}}`)
	bad := auditEvent("create", "deployments", "web", "d", `{"spec":{"template":{"spec":{"containers":[{"image":"registry.internal/a"}],"initContainers":[{"image":"docker.io/b"}]}}}}`)
	if got := collect(e, ok); len(got) != 0 {
		t.Errorf("all images covered: got %d alerts", len(got))
	}
	if got := collect(e, bad); len(got) != 1 {
		t.Errorf("one image not covered: got %d alerts, want 1", len(got))
	}
}

// TestEvalErrors: a run-time CEL error is counted and logged once per rule,
// and other rules still fire.
func TestEvalErrors(t *testing.T) {
	bad := `id: T_Err
title: err
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: 10 / (evt.process.pid - evt.process.pid) == 1
`
	var logs bytes.Buffer
	e := engineFor(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, bad, ruleAny)
	got := collect(e, execEvent("/bin/ls"), execEvent("/bin/ls"), execEvent("/bin/ls"))
	if len(got) != 3 || got[0].Type != "T_Any" {
		t.Errorf("got %d alerts, want 3 from T_Any", len(got))
	}
	st := e.Stats()
	if st.EvalErrors != 3 || st.Rules["T_Err"].EvalErrors != 3 {
		t.Errorf("eval errors: %+v", st)
	}
	if n := strings.Count(logs.String(), "T_Err"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
}

// TestCELValues pins the semantics rules rely on: empty sub-objects,
// lenient JSON objects, helpers.
func TestCELValues(t *testing.T) {
	audit := auditEvent("create", "pods", "ns", "p",
		`{"metadata":{"labels":{"app":"web"}},"spec":{"hostNetwork":true,"replicas":3,"containers":[{"name":"a","image":"x","ports":[{"containerPort":8080}]}]}}`)
	cronjob := auditEvent("create", "cronjobs", "ns", "cj",
		`{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"initContainers":[{"image":"i"}],"containers":[{"image":"a"},{"image":"b"}],"ephemeralContainers":[{"image":"e"}]}}}}}}`)
	ephemeral := auditEvent("patch", "pods", "ns", "p", `{"spec":{"ephemeralContainers":[{"name":"dbg","image":"dbg"}]}}`)
	exec := execEvent("/usr/bin/curl", "curl", "-o", "/tmp/x", "http://203.0.113.5/x")
	exec.Process.Cmdline = "" // the engine joins args
	exec.Net = &event.Conn{DstIP: "10.1.2.3", DstPort: 443}
	exec.Container = &event.Container{ID: "c", Labels: map[string]string{"a": "b"},
		Mounts: []event.Mount{{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"}}}
	cases := []struct {
		expr string
		ev   *event.Event
		want bool
	}{
		{`evt.process.exe == "" && evt.process.uid == -1 && evt.container.id == "" && size(evt.process.args) == 0`, audit, true},
		{`!has(evt.process) && has(evt.k8s) && has(evt.k8s.user)`, audit, true},
		{`evt.k8s.object.spec.hostNetwork == true`, audit, true},
		{`evt.k8s.object.spec.hostPID == true`, audit, false},
		{`evt.k8s.object.spec.nope.deeper.still == "x"`, audit, false},
		{`size(evt.k8s.object.spec.volumes) == 0 && !evt.k8s.object.spec.volumes.exists(v, v.hostPath.path == "/")`, audit, true},
		{`evt.k8s.object.spec.replicas == 3 && evt.k8s.object.spec.replicas > 2`, audit, true},
		{`evt.k8s.object.spec.containers.exists(c, c.ports.exists(p, p.containerPort == 8080))`, audit, true},
		{`"app" in evt.k8s.object.metadata.labels && !("x" in evt.k8s.object.metadata.labels)`, audit, true},
		{`has(evt.k8s.object.spec.hostNetwork) && !has(evt.k8s.object.spec.hostIPC)`, audit, true},
		{`evt.k8s.object.metadata.labels.app == "web"`, audit, true},
		{`evt.k8s.object.spec == null`, exec, false},
		{`evt.k8s.object.spec.containers.exists(c, true)`, exec, false},
		{`basename(evt.process.exe) == "curl" && evt.process.name in lists.downloaders`, exec, true},
		{`glob(evt.process.exe, "/usr/*/cu?l") && glob("registry.internal/debug/x:1", "registry.internal/*")`, exec, true},
		{`any_glob(evt.process.exe, ["/bin/*", "/usr/bin/*"]) && !any_glob(evt.process.exe, ["/sbin/*"])`, exec, true},
		{`contains_any(evt.process.cmdline, ["http://", "ftp://"]) && !contains_any(evt.process.cmdline, ["stratum+"])`, exec, true},
		{`contains_any(evt.process.args, ["203.0.113"]) && !contains_any(evt.process.args, ["stratum+", ""])`, exec, true},
		{`any_glob(evt.process.args, ["/tmp/*"]) && !any_glob(evt.process.args, ["/etc/*"]) && !any_glob(evt.k8s.groups, ["*"])`, exec, true},
		{`cidr_contains("10.0.0.0/8", evt.net.dst_ip) && is_private_ip(evt.net.dst_ip) && !is_private_ip("203.0.113.5")`, exec, true},
		{`is_private_ip("100.64.1.1") && is_private_ip("fd00::1") && !is_private_ip("")`, exec, true},
		{`evt.container.mounts.exists(m, m.source == "/var/run/docker.sock") && evt.container.labels["a"] == "b"`, exec, true},
		{`evt.process.args.filter(a, a.startsWith("/")).join(",") == "/tmp/x"`, exec, true},
		{`evt.time == timestamp("2026-11-27T08:00:00Z")`, exec, true},
		{`evt.falco.fields.x == 1`, exec, false},
		{`size(pod_specs(evt.k8s.object)) == 1 && containers(evt.k8s.object).exists(c, c.name == "a") && size(containers(evt.k8s.object)) == 1`, audit, true},
		{`size(pod_specs(evt.k8s.object)) == 0 && size(containers(evt.k8s.object)) == 0`, exec, true},
		{`containers(evt.k8s.object).map(c, c.image).join(",") == "i,a,b,e"`, cronjob, true},
		{`size(containers(evt.k8s.object.spec.containers)) == 0`, cronjob, true},
		// a patch carrying only ephemeral containers is a pod spec too
		{`size(pod_specs(evt.k8s.object)) == 1 && containers(evt.k8s.object).map(c, c.image).join(",") == "dbg"`, ephemeral, true},
		{`size(containers(b"x")) == 0 && size(pod_specs(1)) == 0`, exec, true},
		// icontains_any: contains_any on the ASCII-lowercased string, with
		// named lists (memoised per string) and literal lists alike
		{`icontains_any("Kube-Hunter/1.0", lists.pentest_user_agents) && icontains_any("Kube-Hunter/1.0", lists.pentest_user_agents)`, exec, true},
		{`!icontains_any("kubectl/v1.36", lists.pentest_user_agents) && !icontains_any("kubectl/v1.36", lists.pentest_user_agents)`, exec, true},
		{`icontains_any("ABC", ["b"]) && !icontains_any("ABC", ["B"]) && !icontains_any("abc", [""])`, exec, true},
		{`icontains_any(["x", "STRATUM+tcp://p"], ["stratum+tcp"]) && !icontains_any(evt.process.args, ["nope"])`, exec, true},
		{`evt.process.cmdline == "curl -o /tmp/x http://203.0.113.5/x"`, exec, true},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			rule := "id: T_Expr\ntitle: x\nseverity: low\ncondition: " + strconvQuote(tc.expr) + "\n"
			e := engineFor(t, Options{}, rule)
			got := collect(e, tc.ev)
			if st := e.Stats(); st.EvalErrors != 0 {
				t.Fatalf("eval error (%d)", st.EvalErrors)
			}
			if (len(got) == 1) != tc.want {
				t.Errorf("fired=%v, want %v", len(got) == 1, tc.want)
			}
		})
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPrefilter: rules only see events of their sources, kinds, actions,
// resources and subresources.
func TestPrefilter(t *testing.T) {
	rule := `id: T_Exec
title: exec into pod
severity: low
sources: [k8s-audit]
kinds: [k8s.audit]
match: {actions: [create, get], resources: [pods], subresources: [exec]}
condition: "true"
`
	// resources/subresources narrow only the audit side of a mixed rule.
	mixed := `id: T_Mixed
title: dashboard
severity: low
sources: [ebpf, k8s-audit]
kinds: [process.exec, k8s.audit]
match: {resources: [services], subresources: [proxy]}
condition: "true"
`
	m := engineFor(t, Options{}, mixed)
	proxy := auditEvent("get", "services", "ns", "kubernetes-dashboard", "")
	proxy.K8s.Subresource = "proxy"
	if got := collect(m, execEvent("/usr/bin/curl"), proxy, auditEvent("get", "services", "ns", "x", ""), auditEvent("get", "pods", "ns", "x", "")); len(got) != 2 {
		t.Errorf("mixed rule fired %d times, want 2 (the exec and the proxy request)", len(got))
	}
	e := engineFor(t, Options{}, rule)
	mk := func(verb, res, sub string) *event.Event {
		ev := auditEvent(verb, res, "ns", "p", "")
		ev.K8s.Subresource = sub
		return ev
	}
	cases := []struct {
		ev   *event.Event
		want bool
	}{
		{mk("create", "pods", "exec"), true},
		{mk("get", "pods", "exec"), true},
		{mk("create", "pods", ""), false},
		{mk("delete", "pods", "exec"), false},
		{mk("create", "secrets", "exec"), false},
		{execEvent("/bin/ls"), false},
	}
	for i, tc := range cases {
		if got := collect(e, tc.ev); (len(got) == 1) != tc.want {
			t.Errorf("case %d: fired=%v, want %v", i, len(got) == 1, tc.want)
		}
	}
	if m := e.Stats().Rules["T_Exec"].Matches; m != 2 {
		t.Errorf("rule evaluated to true %d times, want 2 (prefilter let others through?)", m)
	}
}

// TestCorrelationState: keys are capped (LRU) and expire by event time.
func TestCorrelationState(t *testing.T) {
	rule := `id: T_Burst
title: burst
severity: low
sources: [ebpf]
kinds: [process.exec]
condition: "true"
correlate: {key: evt.host, window: 10s, threshold: 3}
`
	e := engineFor(t, Options{MaxKeys: 100}, rule)
	at := func(host string, sec int) *event.Event {
		ev := execEvent("/bin/ls")
		ev.Host, ev.Time = host, t0.Add(time.Duration(sec)*time.Second)
		return ev
	}
	// Three on one host within the window: one alert; the state restarts.
	if got := collect(e, at("a", 0), at("a", 1), at("a", 2)); len(got) != 1 || got[0].Properties["correlated_count"] != "3" {
		t.Fatalf("burst: %+v", got)
	}
	// Spread beyond the window: none.
	if got := collect(e, at("b", 0), at("b", 11), at("b", 22)); len(got) != 0 {
		t.Errorf("spread events fired: %d", len(got))
	}
	// Many keys: state never exceeds the cap.
	for i := range 1000 {
		collect(e, at("h"+string(rune('A'+i%26))+strings.Repeat("x", i/26), 30))
	}
	if k := e.Stats().Rules["T_Burst"].Keys; k > 100 || k == 0 {
		t.Errorf("keys held %d, want 1..100", k)
	}
	// Much later: everything older than the window expires on the next touch.
	collect(e, at("z", 1000))
	if k := e.Stats().Rules["T_Burst"].Keys; k != 1 {
		t.Errorf("keys held after expiry %d, want 1", k)
	}
}

// TestFieldTablesComplete keeps the CEL field tables in step with the JSON
// names of internal/event.
func TestFieldTablesComplete(t *testing.T) {
	p, err := newProvider(nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(typeName string, v any) {
		rt := reflect.TypeOf(v)
		want := map[string]bool{}
		for i := range rt.NumField() {
			f := rt.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			want[name] = true
			if _, ok := p.fields[typeName][name]; !ok {
				t.Errorf("%s.%s (json %q) is not readable from CEL", rt.Name(), f.Name, name)
			}
		}
		for name := range p.fields[typeName] {
			if !want[name] && !(typeName == typeK8s && name == "object") {
				t.Errorf("CEL field %s.%s has no event field", typeName, name)
			}
		}
	}
	check(typeEvent, event.Event{})
	check(typeProcess, event.Process{})
	check(typeConn, event.Conn{})
	check(typeFile, event.File{})
	check(typeContainer, event.Container{})
	check(typeMount, event.Mount{})
	check(typeK8s, event.K8sAudit{})
	check(typeFalco, event.Falco{})
	check(typeObject, event.Object{})
}

func TestRunTestsReportsFailures(t *testing.T) {
	r := ruleAny + `tests:
  - {name: ok, fire: true, events: [{source: ebpf, kind: process.exec, process: {name: ls, uid: 0, euid: 0}}]}
  - {name: wrong, fire: true, events: [{source: ebpf, kind: process.exec, process: {uid: 0, euid: 0}}]}
`
	noTests := "id: T_None\ntitle: x\nseverity: low\ncondition: 'true'\n"
	dir := writeFiles(t, map[string]string{"a.yaml": r, "b.yaml": noTests})
	rs, err := Load(context.Background(), Options{RuleDirs: []string{dir}, NoBuiltins: true})
	if err != nil {
		t.Fatal(err)
	}
	res := RunTests(context.Background(), rs)
	if len(res) != 3 || !res[0].Pass || res[1].Pass || res[1].Fired || res[2].Pass || res[2].Err == "" {
		t.Errorf("results: %+v", res)
	}
}

// TestMalformedEvents: odd events never crash the engine or stop it.
func TestMalformedEvents(t *testing.T) {
	e, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	huge := `{"kind":"Pod","metadata":{"name":"big","annotations":{"x":"` + strings.Repeat("a", 4<<20) + `"}},"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]}}`
	evs := []*event.Event{
		nil,
		{},
		{Source: "nope", Kind: "nope"},
		{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit},
		{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, Action: "create", K8s: &event.K8sAudit{Verb: "create", Resource: "pods", RequestObject: json.RawMessage(`{"spec":{"containers":[{"ima`)}},
		{Source: event.SourceEBPF, Kind: event.KindProcessExec},
		{Source: event.SourceEBPF, Kind: event.KindProcessExec, Process: &event.Process{Args: []string{}}},
		{Source: event.SourceDocker, Kind: event.KindContainer, Container: &event.Container{}},
		{Source: event.SourceFalco, Kind: event.KindFalco, Falco: &event.Falco{}},
	}
	for _, ev := range evs {
		collect(e, ev)
	}
	big := auditEvent("create", "pods", "ns", "", huge)
	big.Raw = json.RawMessage(huge)
	got := collect(e, big)
	if len(got) == 0 {
		t.Fatal("a privileged pod with a huge annotation did not fire")
	}
	for _, a := range got {
		if len(a.Evidence[0].Raw) > MaxRawEvidence+32 {
			t.Errorf("%s: raw evidence %d bytes, want it cut at %d", a.Type, len(a.Evidence[0].Raw), MaxRawEvidence)
		}
	}
	if n := e.Stats().Events; n != uint64(len(evs)) { // nil is not an event
		t.Errorf("events counted %d, want %d", n, len(evs))
	}
}

// BenchmarkObjectDecode compares how the request object reaches CEL:
// encoding/json into map[string]any (event.K8sAudit.Object) against the
// engine's fastjson parse; a pod spec of the audit mix.
func BenchmarkObjectDecode(b *testing.B) {
	raw := []byte(fmt.Sprintf(podSpec, 1, false))
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			k := &event.K8sAudit{RequestObject: raw}
			if k.Object() == nil {
				b.Fatal("no object")
			}
		}
	})
	b.Run("fastjson", func(b *testing.B) {
		var c objectCache
		b.ReportAllocs()
		for b.Loop() {
			k := &event.K8sAudit{RequestObject: raw}
			if c.get(types.DefaultTypeAdapter, k) == absentVal {
				b.Fatal("no object")
			}
			c.reset()
		}
	})
}

// TestConcurrentProcess: sources may call Process from several goroutines
// (run with -race); every firing is still counted once.
func TestConcurrentProcess(t *testing.T) {
	e := engineFor(t, Options{}, ruleAny)
	var wg sync.WaitGroup
	var n atomic.Int64
	for range 4 {
		wg.Go(func() {
			for range 200 {
				e.Process(execEvent("/bin/ls", "ls"), func(model.Alert) { n.Add(1) })
				_ = e.Stats()
			}
		})
	}
	wg.Wait()
	if n.Load() != 800 || e.Stats().Alerts != 800 {
		t.Errorf("alerts %d (stats %d), want 800", n.Load(), e.Stats().Alerts)
	}
}

// TestServerExceptions: the server's exceptions apply beside the files'
// and are replaced as a whole by the next version.
func TestServerExceptions(t *testing.T) {
	rule := "id: T_Exec\ntitle: exec\nseverity: low\nsources: [ebpf]\nkinds: [process.exec]\ncondition: 'true'\n"
	dir := writeFiles(t, map[string]string{"ex.yaml": "exceptions:\n  - rules: [T_Exec]\n    hosts: [build-*]\n    reason: build hosts\n"})
	e := engineFor(t, Options{ExceptionFiles: []string{filepath.Join(dir, "ex.yaml")}}, rule)
	ev := func(host string) *event.Event {
		x := execEvent("/bin/ls", "ls")
		x.Host = host
		return x
	}
	fired := func() (n int) {
		for _, h := range []string{"build-1", "db-1", "web-1"} {
			n += len(collect(e, ev(h)))
		}
		return n
	}
	if n := fired(); n != 2 {
		t.Fatalf("file exception only: %d alerts, want 2", n)
	}
	v1, err := ParseExceptions("server v1", []byte("exceptions:\n  - rules: ['*']\n    hosts: [db-*]\n    reason: DBA sessions\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.SetServerExceptions(v1)
	if n := fired(); n != 1 {
		t.Errorf("file and server exceptions: %d alerts, want 1", n)
	}
	e.SetServerExceptions(nil)
	if n := fired(); n != 2 {
		t.Errorf("server exceptions withdrawn: %d alerts, want 2", n)
	}
}
