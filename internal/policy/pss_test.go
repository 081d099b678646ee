package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/policy"
)

// pssFiles reads builtin/pss_*.rego: the policies and their Rego tests.
func pssFiles(t *testing.T) (policies, tests map[string]string) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("builtin", "pss_*.rego"))
	if err != nil {
		t.Fatal(err)
	}
	policies, tests = map[string]string{}, map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(n, "_test.rego") {
			tests[n] = string(b)
		} else {
			policies[n] = string(b)
		}
	}
	if len(policies) == 0 {
		t.Fatal("no builtin/pss_*.rego policies")
	}
	return policies, tests
}

// TestPSSRegoTests runs the Rego unit tests of the PSS policies (the engine's
// TestRegoPolicies runs every built-in test; this one runs only pss_* so a
// PSS failure is reported on its own) and checks every policy has tests.
func TestPSSRegoTests(t *testing.T) {
	policies, tests := pssFiles(t)
	for n := range policies {
		if _, ok := tests[strings.TrimSuffix(n, ".rego")+"_test.rego"]; !ok {
			t.Errorf("%s has no Rego test file", n)
		}
	}
	facts, err := policy.PSSFactsModule()
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]*ast.Module{"pss_facts.rego": facts}
	for n, src := range mergeMaps(policies, tests) {
		m, err := ast.ParseModuleWithOpts(n, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			t.Fatalf("parse %s: %v", n, err)
		}
		modules[n] = m
	}
	ch, err := tester.NewRunner().SetModules(modules).Run(context.Background(), modules)
	if err != nil {
		t.Fatalf("run pss rego tests: %v", err)
	}
	perFile := map[string]int{}
	for r := range ch {
		perFile[r.Location.File]++
		switch {
		case r.Error != nil:
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		case !r.Pass():
			t.Errorf("%s.%s (%s): FAIL", r.Package, r.Name, r.Location)
		}
	}
	for n := range tests {
		if perFile[n] < 2 {
			t.Errorf("%s: %d test rules, want at least an allow and a deny case", n, perFile[n])
		}
	}
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// pssEvaluator evaluates every PSS policy on a Pod with the rego package
// directly, outside the engine.
type pssEvaluator struct {
	pkgs  []string // pss_privileged, …
	query rego.PreparedEvalQuery
}

func newPSSEvaluator(t *testing.T) *pssEvaluator {
	t.Helper()
	policies, _ := pssFiles(t)
	opts := []func(*rego.Rego){
		// {policy id: [violation, …]} for every pss_ package.
		rego.Query(`result := {data.bulwark.policies[pkg].metadata.id: vs |
			some pkg
			startswith(pkg, "pss_")
			vs := [v | some v in data.bulwark.policies[pkg].violation]}`),
	}
	e := &pssEvaluator{}
	for n, src := range policies {
		opts = append(opts, rego.Module(n, src))
		e.pkgs = append(e.pkgs, strings.TrimSuffix(filepath.Base(n), ".rego"))
	}
	sort.Strings(e.pkgs)
	q, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatalf("prepare pss query: %v", err)
	}
	e.query = q
	return e
}

// podInput builds the policy input of doc.go for a Pod object.
func podInput(pod map[string]any) map[string]any {
	meta, _ := pod["metadata"].(map[string]any)
	spec, _ := pod["spec"].(map[string]any)
	var containers []any
	for _, kind := range []string{"containers", "initContainers", "ephemeralContainers"} {
		list, _ := spec[kind].([]any)
		for i, item := range list {
			c := map[string]any{}
			for k, v := range item.(map[string]any) {
				c[k] = v
			}
			c["_kind"] = kind
			c["_path"] = fmt.Sprintf("spec.%s[%d]", kind, i)
			containers = append(containers, c)
		}
	}
	return map[string]any{
		"kind": pod["kind"], "apiVersion": pod["apiVersion"], "metadata": meta,
		"namespace":  meta["namespace"],
		"pod":        map[string]any{"metadata": meta, "spec": spec, "path": "spec"},
		"containers": containers,
	}
}

// eval returns the ids of the policies the pod violates, sorted, and every
// violation's message.
func (e *pssEvaluator) eval(t *testing.T, pod map[string]any) (ids, msgs []string) {
	t.Helper()
	in, err := ast.InterfaceToValue(podInput(pod))
	if err != nil {
		t.Fatal(err)
	}
	in.(ast.Object).Insert(ast.StringTerm("pss"), policy.PSSFactsTerm(policy.PSSLatest)) // with its sets
	rs, err := e.query.Eval(context.Background(), rego.EvalParsedInput(in))
	if err != nil {
		t.Fatalf("evaluate pss policies: %v", err)
	}
	if len(rs) != 1 {
		t.Fatalf("evaluate pss policies: %d results, want 1", len(rs))
	}
	res, _ := rs[0].Bindings["result"].(map[string]any)
	if len(res) != len(e.pkgs) {
		t.Fatalf("evaluated %d policies, want %d (%v)", len(res), len(e.pkgs), e.pkgs)
	}
	for id, vs := range res {
		list, _ := vs.([]any)
		if len(list) > 0 {
			ids = append(ids, id)
		}
		for _, v := range list {
			m, _ := v.(map[string]any)
			msg, _ := m["msg"].(string)
			path, _ := m["path"].(string)
			if msg == "" || !strings.HasPrefix(path, "spec.") && !strings.HasPrefix(path, "metadata.") {
				t.Errorf("%s: malformed violation %v", id, v)
			}
			msgs = append(msgs, msg)
		}
	}
	sort.Strings(ids)
	return ids, msgs
}

// restrictedPod passes every PSS policy (baseline and restricted).
const restrictedPod = `
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations:
    container.apparmor.security.beta.kubernetes.io/web: runtime/default
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
    sysctls:
    - name: net.ipv4.ip_unprivileged_port_start
      value: "0"
  volumes:
  - name: config
    configMap:
      name: web
  - name: tmp
    emptyDir: {}
  - name: token
    projected:
      sources:
      - serviceAccountToken:
          path: token
  initContainers:
  - name: migrate
    image: registry.example.com/web:1.2.3
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
  containers:
  - name: web
    image: registry.example.com/web:1.2.3
    ports:
    - containerPort: 8080
    livenessProbe:
      httpGet:
        path: /healthz
        port: 8080
    lifecycle:
      preStop:
        exec:
          command: ["/bin/stop"]
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      procMount: Default
      seLinuxOptions:
        type: container_t
      appArmorProfile:
        type: RuntimeDefault
      capabilities:
        drop: ["ALL"]
        add: ["NET_BIND_SERVICE"]
`

func decodePod(t *testing.T, doc string) map[string]any {
	t.Helper()
	var pod map[string]any
	if err := yaml.Unmarshal([]byte(doc), &pod); err != nil {
		t.Fatalf("decode fixture: %v", err)
	}
	return pod
}

// at walks a decoded object along keys (map keys or list indices).
func at(t *testing.T, obj any, keys ...any) map[string]any {
	t.Helper()
	cur := obj
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("fixture: %v is not an object", k)
			}
			next, ok := m[k]
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			cur = next
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur.(map[string]any)
}

func TestPSSFixtures(t *testing.T) {
	e := newPSSEvaluator(t)
	spec := func(p map[string]any) map[string]any { return at(t, p, "spec") }
	web := func(p map[string]any) map[string]any { return at(t, p, "spec", "containers", 0) }
	webSC := func(p map[string]any) map[string]any { return at(t, p, "spec", "containers", 0, "securityContext") }
	podSC := func(p map[string]any) map[string]any { return at(t, p, "spec", "securityContext") }

	tests := []struct {
		name   string
		mutate func(pod map[string]any)
		want   []string // policy ids, sorted
		msg    string   // a message that must be among the violations
	}{
		{name: "restricted pod", mutate: func(map[string]any) {}},
		{
			name:   "hostNetwork",
			mutate: func(p map[string]any) { spec(p)["hostNetwork"] = true },
			want:   []string{"BW-PSS-HOST-NAMESPACES"},
			msg:    "pod must not set hostNetwork=true",
		},
		{
			name:   "privileged",
			mutate: func(p map[string]any) { webSC(p)["privileged"] = true },
			want:   []string{"BW-PSS-PRIVILEGED"},
			msg:    `container "web" must not set securityContext.privileged=true`,
		},
		{
			name:   "privileged init container",
			mutate: func(p map[string]any) { at(t, p, "spec", "initContainers", 0, "securityContext")["privileged"] = true },
			want:   []string{"BW-PSS-PRIVILEGED"},
			msg:    `container "migrate" must not set securityContext.privileged=true`,
		},
		{
			// PSA reports only capabilities_restricted at the restricted
			// level (it overrides the baseline check); both policies see it.
			name: "add SYS_ADMIN",
			mutate: func(p map[string]any) {
				at(t, p, "spec", "containers", 0, "securityContext", "capabilities")["add"] = []any{"SYS_ADMIN"}
			},
			want: []string{"BW-PSS-CAPABILITIES-BASELINE", "BW-PSS-CAPABILITIES-RESTRICTED"},
			msg:  `container "web" must not include "SYS_ADMIN" in securityContext.capabilities.add`,
		},
		{
			name: "add CHOWN (in the default set)",
			mutate: func(p map[string]any) {
				at(t, p, "spec", "containers", 0, "securityContext", "capabilities")["add"] = []any{"CHOWN"}
			},
			want: []string{"BW-PSS-CAPABILITIES-RESTRICTED"},
		},
		{
			name: "no drop ALL",
			mutate: func(p map[string]any) {
				delete(at(t, p, "spec", "containers", 0, "securityContext", "capabilities"), "drop")
			},
			want: []string{"BW-PSS-CAPABILITIES-RESTRICTED"},
			msg:  `container "web" must set securityContext.capabilities.drop=["ALL"]`,
		},
		{
			// hostPath is also a restricted volume type, in PSA too.
			name: "hostPath volume",
			mutate: func(p map[string]any) {
				spec(p)["volumes"] = append(spec(p)["volumes"].([]any), map[string]any{"name": "sock", "hostPath": map[string]any{"path": "/run/containerd.sock"}})
			},
			want: []string{"BW-PSS-HOST-PATH-VOLUMES", "BW-PSS-RESTRICTED-VOLUMES"},
			msg:  `volume "sock" must not use hostPath`,
		},
		{
			name: "nfs volume",
			mutate: func(p map[string]any) {
				spec(p)["volumes"] = append(spec(p)["volumes"].([]any), map[string]any{"name": "share", "nfs": map[string]any{"server": "nfs", "path": "/"}})
			},
			want: []string{"BW-PSS-RESTRICTED-VOLUMES"},
			msg:  `volume "share" must not use restricted volume type "nfs"`,
		},
		{
			name:   "hostPort",
			mutate: func(p map[string]any) { at(t, p, "spec", "containers", 0, "ports", 0)["hostPort"] = 8080 },
			want:   []string{"BW-PSS-HOST-PORTS"},
			msg:    `container "web" must not use hostPort 8080`,
		},
		{
			name:   "AppArmor Unconfined",
			mutate: func(p map[string]any) { webSC(p)["appArmorProfile"] = map[string]any{"type": "Unconfined"} },
			want:   []string{"BW-PSS-APPARMOR-PROFILE"},
		},
		{
			name: "AppArmor annotation unconfined",
			mutate: func(p map[string]any) {
				at(t, p, "metadata", "annotations")["container.apparmor.security.beta.kubernetes.io/web"] = "unconfined"
			},
			want: []string{"BW-PSS-APPARMOR-PROFILE"},
		},
		{
			name: "SELinux spc_t",
			mutate: func(p map[string]any) {
				at(t, p, "spec", "containers", 0, "securityContext", "seLinuxOptions")["type"] = "spc_t"
			},
			want: []string{"BW-PSS-SELINUX-OPTIONS"},
		},
		{
			name:   "procMount Unmasked",
			mutate: func(p map[string]any) { webSC(p)["procMount"] = "Unmasked" },
			want:   []string{"BW-PSS-PROC-MOUNT", "BW-PSS-PROC-MOUNT-RESTRICTED"},
		},
		{
			name: "procMount Unmasked in a user namespace",
			mutate: func(p map[string]any) {
				spec(p)["hostUsers"] = false
				webSC(p)["procMount"] = "Unmasked"
			},
			want: []string{"BW-PSS-PROC-MOUNT-RESTRICTED"},
		},
		{
			name:   "seccomp Unconfined",
			mutate: func(p map[string]any) { podSC(p)["seccompProfile"] = map[string]any{"type": "Unconfined"} },
			want:   []string{"BW-PSS-SECCOMP-PROFILE-BASELINE", "BW-PSS-SECCOMP-PROFILE-RESTRICTED"},
		},
		{
			name:   "no seccomp profile",
			mutate: func(p map[string]any) { delete(podSC(p), "seccompProfile") },
			want:   []string{"BW-PSS-SECCOMP-PROFILE-RESTRICTED"},
			msg:    `pod or container "migrate" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
		},
		{
			name: "unsafe sysctl",
			mutate: func(p map[string]any) {
				podSC(p)["sysctls"] = append(podSC(p)["sysctls"].([]any), map[string]any{"name": "kernel.msgmax", "value": "65536"})
			},
			want: []string{"BW-PSS-SYSCTLS"},
			msg:  `pod must not set forbidden sysctl "kernel.msgmax"`,
		},
		{
			name:   "Windows HostProcess",
			mutate: func(p map[string]any) { podSC(p)["windowsOptions"] = map[string]any{"hostProcess": true} },
			want:   []string{"BW-PSS-WINDOWS-HOST-PROCESS"},
		},
		{
			name: "probe host",
			mutate: func(p map[string]any) {
				at(t, p, "spec", "containers", 0, "livenessProbe", "httpGet")["host"] = "169.254.169.254"
			},
			want: []string{"BW-PSS-HOST-PROBES"},
			msg:  `container "web" must not set livenessProbe.httpGet.host to "169.254.169.254"`,
		},
		{
			name:   "allowPrivilegeEscalation unset",
			mutate: func(p map[string]any) { delete(webSC(p), "allowPrivilegeEscalation") },
			want:   []string{"BW-PSS-ALLOW-PRIVILEGE-ESCALATION"},
		},
		{
			name:   "runAsNonRoot unset",
			mutate: func(p map[string]any) { delete(podSC(p), "runAsNonRoot") },
			want:   []string{"BW-PSS-RUN-AS-NON-ROOT"},
		},
		{
			name:   "container runAsNonRoot false",
			mutate: func(p map[string]any) { webSC(p)["runAsNonRoot"] = false },
			want:   []string{"BW-PSS-RUN-AS-NON-ROOT"},
		},
		{
			name: "root in a user namespace",
			mutate: func(p map[string]any) {
				spec(p)["hostUsers"] = false
				podSC(p)["runAsNonRoot"] = false
				podSC(p)["runAsUser"] = 0
			},
		},
		{
			name:   "runAsUser 0",
			mutate: func(p map[string]any) { webSC(p)["runAsUser"] = 0 },
			want:   []string{"BW-PSS-RUN-AS-USER"},
		},
		{
			// Policy 1.25+: Windows pods need not set the Linux-only
			// allowPrivilegeEscalation, seccomp and capabilities.
			name: "Windows pod",
			mutate: func(p map[string]any) {
				spec(p)["os"] = map[string]any{"name": "windows"}
				delete(podSC(p), "seccompProfile")
				delete(webSC(p), "allowPrivilegeEscalation")
				delete(webSC(p), "capabilities")
				delete(web(p), "securityContext")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := decodePod(t, restrictedPod)
			tt.mutate(pod)
			ids, msgs := e.eval(t, pod)
			if !slices.Equal(ids, tt.want) {
				t.Errorf("violated %v, want %v; messages %q", ids, tt.want, msgs)
			}
			if tt.msg != "" && !slices.Contains(msgs, tt.msg) {
				t.Errorf("messages %q do not include %q", msgs, tt.msg)
			}
		})
	}
}

// TestPSSMetadata pins each PSS policy's metadata to the PSA check it
// implements: one policy per check, with its level's sets, mode and severity.
func TestPSSMetadata(t *testing.T) {
	baseline := []string{"pss-baseline", "pss-restricted"}
	restricted := []string{"pss-restricted"}
	type want struct {
		id       string
		sets     []string
		severity string
		mode     string
	}
	b := func(id, sev string) want { return want{id, baseline, sev, "enforce"} }
	r := func(id, sev string) want { return want{id, restricted, sev, "audit"} }
	wants := map[string]want{
		"hostNamespaces":             b("BW-PSS-HOST-NAMESPACES", "high"),
		"privileged":                 b("BW-PSS-PRIVILEGED", "high"),
		"capabilities_baseline":      b("BW-PSS-CAPABILITIES-BASELINE", "high"),
		"hostPathVolumes":            b("BW-PSS-HOST-PATH-VOLUMES", "high"),
		"hostPorts":                  b("BW-PSS-HOST-PORTS", "medium"),
		"appArmorProfile":            b("BW-PSS-APPARMOR-PROFILE", "medium"),
		"seLinuxOptions":             b("BW-PSS-SELINUX-OPTIONS", "medium"),
		"procMount":                  b("BW-PSS-PROC-MOUNT", "medium"),
		"seccompProfile_baseline":    b("BW-PSS-SECCOMP-PROFILE-BASELINE", "medium"),
		"sysctls":                    b("BW-PSS-SYSCTLS", "medium"),
		"windowsHostProcess":         b("BW-PSS-WINDOWS-HOST-PROCESS", "medium"),
		"hostProbesAndHostLifecycle": b("BW-PSS-HOST-PROBES", "medium"),
		"restrictedVolumes":          r("BW-PSS-RESTRICTED-VOLUMES", "medium"),
		"allowPrivilegeEscalation":   r("BW-PSS-ALLOW-PRIVILEGE-ESCALATION", "medium"),
		"runAsNonRoot":               r("BW-PSS-RUN-AS-NON-ROOT", "medium"),
		"runAsUser":                  r("BW-PSS-RUN-AS-USER", "medium"),
		"seccompProfile_restricted":  r("BW-PSS-SECCOMP-PROFILE-RESTRICTED", "medium"),
		"capabilities_restricted":    r("BW-PSS-CAPABILITIES-RESTRICTED", "high"),
		"procMount_restricted":       r("BW-PSS-PROC-MOUNT-RESTRICTED", "medium"),
	}
	policies, _ := pssFiles(t)
	opts := []func(*rego.Rego){rego.Query(`result := [m | some pkg; startswith(pkg, "pss_"); m := data.bulwark.policies[pkg].metadata]`)}
	for n, src := range policies {
		opts = append(opts, rego.Module(n, src))
	}
	rs, err := rego.New(opts...).Eval(context.Background())
	if err != nil {
		t.Fatalf("read pss metadata: %v", err)
	}
	seen := map[string]bool{}
	for _, m := range rs[0].Bindings["result"].([]any) {
		md := m.(map[string]any)
		control, _ := md["pss_control"].(string)
		w, ok := wants[control]
		if !ok {
			t.Errorf("policy %v: unknown pss_control %q", md["id"], control)
			continue
		}
		if seen[control] {
			t.Errorf("pss_control %q implemented twice", control)
		}
		seen[control] = true
		var sets []string
		for _, s := range md["sets"].([]any) {
			sets = append(sets, s.(string))
		}
		if md["id"] != w.id || !slices.Equal(sets, w.sets) || md["severity"] != w.severity || md["default_mode"] != w.mode {
			t.Errorf("%s: id %v sets %v severity %v default_mode %v; want %s %v %s %s",
				control, md["id"], sets, md["severity"], md["default_mode"], w.id, w.sets, w.severity, w.mode)
		}
		for _, k := range []string{"title", "description", "remediation"} {
			if s, _ := md[k].(string); s == "" {
				t.Errorf("%s: no %s", control, k)
			}
		}
	}
	for control := range wants {
		if !seen[control] {
			t.Errorf("no policy implements PSS check %q", control)
		}
	}
}
