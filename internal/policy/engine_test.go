package policy

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func mustObject(t testing.TB, s string) Object {
	t.Helper()
	var o Object
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		t.Fatalf("decode object: %v", err)
	}
	return o
}

func defenderEngine(t testing.TB, cfg *Config, opts ...Option) *Engine {
	t.Helper()
	if cfg == nil {
		cfg = DefaultConfig()
	}
	cfg.Sets = []string{SetDefender}
	e, err := New(context.Background(), cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// compliantSpec passes every Defender policy (given allowed registries
// containing registry.example.com).
const compliantSpec = `{"automountServiceAccountToken": false,
	"initContainers": [{"name": "init", "image": "registry.example.com/init:1.0",
		"resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
		"securityContext": {"readOnlyRootFilesystem": true}}],
	"containers": [{"name": "app", "image": "registry.example.com/shop/app:1.2.3",
		"resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
		"securityContext": {"readOnlyRootFilesystem": true}}]}`

const badSpec = `{"containers": [{"name": "app", "image": "nginx"}],
	"ephemeralContainers": [{"name": "dbg", "image": "busybox:latest"}]}`

func workload(kind, ns, spec string) string {
	meta := `{"name": "web", "namespace": "` + ns + `"}`
	switch kind {
	case "Pod":
		return `{"apiVersion": "v1", "kind": "Pod", "metadata": ` + meta + `, "spec": ` + spec + `}`
	case "CronJob":
		return `{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": ` + meta + `, "spec": {"jobTemplate": {"spec": {"template": {"spec": ` + spec + `}}}}}`
	case "PodTemplate":
		return `{"apiVersion": "v1", "kind": "PodTemplate", "metadata": ` + meta + `, "template": {"spec": ` + spec + `}}`
	}
	return `{"apiVersion": "apps/v1", "kind": "` + kind + `", "metadata": ` + meta + `, "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": ` + spec + `}}}`
}

func ids(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.PolicyID+"@"+v.Path)
	}
	return out
}

func TestEvaluateWorkloadKinds(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Policies = map[string]PolicyConfig{"BW-K8S-ALLOWED-REGISTRIES": {Params: map[string]any{"allowed_registries": []any{"registry.example.com"}}}}
	e := defenderEngine(t, cfg)
	specPaths := map[string]string{
		"Pod": "spec", "Deployment": "spec.template.spec", "ReplicaSet": "spec.template.spec",
		"StatefulSet": "spec.template.spec", "DaemonSet": "spec.template.spec", "Job": "spec.template.spec",
		"ReplicationController": "spec.template.spec", "CronJob": "spec.jobTemplate.spec.template.spec",
		"PodTemplate": "template.spec",
	}
	for kind, sp := range specPaths {
		t.Run(kind, func(t *testing.T) {
			res, err := e.Evaluate(context.Background(), mustObject(t, workload(kind, "shop", compliantSpec)))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Violations) != 0 {
				t.Errorf("compliant %s: violations %v", kind, ids(res.Violations))
			}
			res, err = e.Evaluate(context.Background(), mustObject(t, workload(kind, "shop", badSpec)))
			if err != nil {
				t.Fatal(err)
			}
			got := ids(res.Violations)
			want := []string{
				"BW-K8S-ALLOWED-REGISTRIES@" + sp + ".containers[0].image",
				"BW-K8S-ALLOWED-REGISTRIES@" + sp + ".ephemeralContainers[0].image",
				"BW-K8S-SA-TOKEN-AUTOMOUNT@" + sp + ".automountServiceAccountToken",
				"BW-K8S-IMAGE-TAG@" + sp + ".containers[0].image",
				"BW-K8S-IMAGE-TAG@" + sp + ".ephemeralContainers[0].image",
				"BW-K8S-READONLY-ROOTFS@" + sp + ".containers[0].securityContext.readOnlyRootFilesystem",
				"BW-K8S-READONLY-ROOTFS@" + sp + ".ephemeralContainers[0].securityContext.readOnlyRootFilesystem",
				"BW-K8S-RESOURCE-LIMITS@" + sp + ".containers[0].resources.limits.cpu",
				"BW-K8S-RESOURCE-LIMITS@" + sp + ".containers[0].resources.limits.memory",
			}
			if !slices.Equal(got, want) {
				t.Errorf("violations\n got %q\nwant %q", got, want)
			}
			if res.Kind != kind || res.Name != "web" || res.Namespace != "shop" {
				t.Errorf("header = %s %s/%s", res.Kind, res.Namespace, res.Name)
			}
			if _, ok := res.Skipped["BW-K8S-IMAGE-VULNS"]; !ok {
				t.Errorf("vulnerability policy not skipped: %v", res.Skipped)
			}
		})
	}
}

func TestEvaluateNonWorkloads(t *testing.T) {
	e := defenderEngine(t, nil)
	tests := []struct {
		name, obj string
		want      []string
	}{
		{"service LoadBalancer in default", `{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}}`,
			[]string{"BW-K8S-SERVICE-TYPE@spec.type", "BW-K8S-DEFAULT-NAMESPACE@metadata.namespace"}},
		{"service ClusterIP", `{"kind": "Service", "apiVersion": "v1", "metadata": {"name": "s", "namespace": "shop"}, "spec": {}}`, nil},
		{"ingress without tls", `{"kind": "Ingress", "apiVersion": "networking.k8s.io/v1", "metadata": {"name": "i", "namespace": "shop"}, "spec": {"rules": [{"host": "a.example.com"}]}}`,
			[]string{"BW-K8S-INGRESS-TLS@spec.tls"}},
		{"configmap", `{"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}, "data": {"a": "b"}}`, nil},
		{"workload without spec", `{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "d", "namespace": "shop"}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.Evaluate(context.Background(), mustObject(t, tt.obj))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res.Violations); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEvaluateConfig(t *testing.T) {
	pod := workload("Pod", "shop", badSpec)
	tests := []struct {
		name     string
		cfg      string
		obj      string
		excluded bool
		want     map[string]Mode // policy id -> mode of its violations; absent: none
		skipped  []string
	}{
		{name: "defaults", obj: pod,
			want:    map[string]Mode{"BW-K8S-IMAGE-TAG": ModeAudit, "BW-K8S-SA-TOKEN-AUTOMOUNT": ModeAudit, "BW-K8S-READONLY-ROOTFS": ModeAudit, "BW-K8S-RESOURCE-LIMITS": ModeAudit},
			skipped: []string{"BW-K8S-ALLOWED-REGISTRIES", "BW-K8S-IMAGE-VULNS"}},
		{name: "modes", obj: pod, cfg: "policies:\n  BW-K8S-IMAGE-TAG: {mode: enforce}\n  BW-K8S-READONLY-ROOTFS: {mode: disabled}\n  BW-K8S-RESOURCE-LIMITS: {mode: disabled}\n  BW-K8S-SA-TOKEN-AUTOMOUNT: {mode: disabled}\n",
			want: map[string]Mode{"BW-K8S-IMAGE-TAG": ModeEnforce}, skipped: []string{"BW-K8S-ALLOWED-REGISTRIES", "BW-K8S-IMAGE-VULNS"}},
		{name: "exempt images", obj: pod, cfg: "exempt_images: [nginx, 'busy*']\n",
			want: map[string]Mode{"BW-K8S-SA-TOKEN-AUTOMOUNT": ModeAudit}, skipped: []string{"BW-K8S-ALLOWED-REGISTRIES", "BW-K8S-IMAGE-VULNS"}},
		{name: "require digest", obj: workload("Pod", "shop", `{"automountServiceAccountToken": false, "containers": [{"name": "a", "image": "nginx:1.27", "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}, "securityContext": {"readOnlyRootFilesystem": true}}]}`),
			cfg:  "policies:\n  BW-K8S-IMAGE-TAG: {params: {require_digest: true}}\n",
			want: map[string]Mode{"BW-K8S-IMAGE-TAG": ModeAudit}, skipped: []string{"BW-K8S-ALLOWED-REGISTRIES", "BW-K8S-IMAGE-VULNS"}},
		{name: "kube-system excluded by default", obj: workload("Pod", "kube-system", badSpec), excluded: true},
		{name: "include list", obj: pod, cfg: "namespaces: {include: [prod]}\n", excluded: true},
		{name: "exclude overrides default", obj: workload("Pod", "kube-system", badSpec), cfg: "namespaces: {exclude: []}\npolicies:\n  BW-K8S-READONLY-ROOTFS: {mode: disabled}\n  BW-K8S-RESOURCE-LIMITS: {mode: disabled}\n  BW-K8S-SA-TOKEN-AUTOMOUNT: {mode: disabled}\n",
			want: map[string]Mode{"BW-K8S-IMAGE-TAG": ModeAudit}, skipped: []string{"BW-K8S-ALLOWED-REGISTRIES", "BW-K8S-IMAGE-VULNS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte(tt.cfg))
			if err != nil {
				t.Fatal(err)
			}
			e := defenderEngine(t, cfg)
			res, err := e.Evaluate(context.Background(), mustObject(t, tt.obj))
			if err != nil {
				t.Fatal(err)
			}
			if (res.Excluded != "") != tt.excluded {
				t.Fatalf("excluded = %q, want %v", res.Excluded, tt.excluded)
			}
			got := map[string]Mode{}
			for _, v := range res.Violations {
				got[v.PolicyID] = v.Mode
				if v.Title == "" || v.Remediation == "" || v.Message == "" {
					t.Errorf("violation without title/remediation/message: %+v", v)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("policies violated = %v, want %v", got, tt.want)
			}
			for id, m := range tt.want {
				if got[id] != m {
					t.Errorf("%s: mode %q, want %q", id, got[id], m)
				}
			}
			var skipped []string
			for id := range res.Skipped {
				skipped = append(skipped, id)
			}
			slices.Sort(skipped)
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %v, want %v", res.Skipped, tt.skipped)
			}
		})
	}
}

func TestEvaluateScanResults(t *testing.T) {
	scan := func(image string) (model.ImageVerdict, bool) {
		switch image {
		case "registry.example.com/shop/app:1.2.3":
			return critical(2), true
		case "registry.example.com/init:1.0":
			return critical(0), true
		}
		return model.ImageVerdict{}, false
	}
	e := defenderEngine(t, nil, WithImageVerdicts(scan))
	res, err := e.Evaluate(context.Background(), mustObject(t, workload("Deployment", "shop", compliantSpec)))
	if err != nil {
		t.Fatal(err)
	}
	var vulns []Violation
	for _, v := range res.Violations {
		if v.PolicyID == "BW-K8S-IMAGE-VULNS" {
			vulns = append(vulns, v)
		}
	}
	if len(vulns) != 1 || vulns[0].Path != "spec.template.spec.containers[0].image" || !strings.Contains(vulns[0].Message, "2 critical") {
		t.Errorf("vulnerability violations = %+v", vulns)
	}
	if r, ok := res.Skipped["BW-K8S-IMAGE-VULNS"]; ok {
		t.Errorf("skipped with every image known: %q", r)
	}
	res, err = e.Evaluate(context.Background(), mustObject(t, workload("Pod", "shop", badSpec)))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Skipped["BW-K8S-IMAGE-VULNS"]; !strings.Contains(r, "nginx") || !strings.Contains(r, "busybox:latest") {
		t.Errorf("skip reason for unknown images = %q", r)
	}
	e = defenderEngine(t, nil)
	res, err = e.Evaluate(context.Background(), mustObject(t, workload("Pod", "shop", badSpec)))
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Skipped["BW-K8S-IMAGE-VULNS"]; r != reasonNoScan {
		t.Errorf("skip reason without scan results = %q", r)
	}
}

func TestViolationOrder(t *testing.T) {
	vs := []Violation{
		{PolicyID: "B", Severity: "low", Path: "a"},
		{PolicyID: "B", Severity: "high", Path: "b"},
		{PolicyID: "A", Severity: "high", Path: "z"},
		{PolicyID: "B", Severity: "high", Path: "a"},
		{PolicyID: "C", Severity: "critical", Path: "a"},
	}
	SortViolations(vs)
	got := ids(vs)
	want := []string{"C@a", "A@z", "B@a", "B@b", "B@a"}
	if !slices.Equal(got, want) || vs[4].Severity != "low" {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func TestPolicies(t *testing.T) {
	cfg, err := ParseConfig([]byte("sets: [defender]\npolicies:\n  BW-K8S-IMAGE-TAG: {mode: enforce}\n"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ps := e.Policies()
	if !slices.IsSortedFunc(ps, func(a, b Policy) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("policies not sorted by id")
	}
	defender := 0
	for _, p := range ps {
		if !p.Builtin || p.Title == "" || p.Remediation == "" || p.Description == "" {
			t.Errorf("incomplete built-in policy %+v", p)
		}
		inDefender := slices.Contains(p.Sets, SetDefender)
		if inDefender {
			defender++
		}
		switch {
		case p.ID == "BW-K8S-IMAGE-TAG" && p.Mode != ModeEnforce:
			t.Errorf("%s mode %s, want enforce from config", p.ID, p.Mode)
		case !inDefender && p.Mode != ModeDisabled:
			t.Errorf("%s is outside the active sets but mode %s", p.ID, p.Mode)
		}
	}
	if defender < 9 {
		t.Errorf("%d defender policies, want at least 9", defender)
	}
}

func TestUserPolicies(t *testing.T) {
	write := func(t *testing.T, dir, name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const good = `package bulwark.policies.team_label
metadata := {"id": "ACME-TEAM-LABEL", "title": "Workloads carry a team label", "severity": "low",
	"description": "d", "remediation": "add metadata.labels.team", "default_mode": "enforce"}
violation contains {"msg": "no team label", "path": "metadata.labels.team"} if {
	input.pod != null
	not input.metadata.labels.team
}
`
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{name: "good", files: map[string]string{"team.rego": good, "team_test.rego": "package broken ("}},
		{name: "duplicate id", files: map[string]string{"a.rego": good, "b.rego": strings.Replace(good, "team_label", "other", 1)}, wantErr: "declared by both"},
		{name: "bad severity", files: map[string]string{"a.rego": strings.Replace(good, `"low"`, `"urgent"`, 1)}, wantErr: "severity"},
		{name: "bad mode", files: map[string]string{"a.rego": strings.Replace(good, `"enforce"`, `"block"`, 1)}, wantErr: "default_mode"},
		{name: "no metadata", files: map[string]string{"a.rego": "package bulwark.policies.x\nviolation contains {\"msg\": \"m\"} if false\n"}, wantErr: "no metadata"},
		{name: "syntax error", files: map[string]string{"a.rego": "package bulwark.policies.x\nviolation contains if {\n"}, wantErr: "parse policy"},
		{name: "builtin id clash", files: map[string]string{"a.rego": strings.Replace(good, "ACME-TEAM-LABEL", "BW-K8S-IMAGE-TAG", 1)}, wantErr: "BW-K8S-IMAGE-TAG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, src := range tt.files {
				write(t, dir, n, src)
			}
			cfg := DefaultConfig()
			cfg.PolicyDirs = []string{dir}
			cfg.Sets = []string{SetCustom}
			e, err := New(context.Background(), cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Evaluate(context.Background(), mustObject(t, workload("Deployment", "shop", compliantSpec)))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res.Violations); !slices.Equal(got, []string{"ACME-TEAM-LABEL@metadata.labels.team"}) || res.Violations[0].Mode != ModeEnforce {
				t.Errorf("violations = %+v", res.Violations)
			}
		})
	}
}

func TestNewRejectsUnknownPolicyInConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Policies = map[string]PolicyConfig{"BW-K8S-NOPE": {Mode: ModeAudit}}
	if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "BW-K8S-NOPE") {
		t.Fatalf("New error = %v", err)
	}
}

func TestEvaluateConcurrent(t *testing.T) {
	e := defenderEngine(t, nil)
	obj := mustObject(t, workload("Deployment", "shop", badSpec))
	want, err := e.Evaluate(context.Background(), obj)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				got, err := e.Evaluate(context.Background(), obj)
				if err != nil || !slices.Equal(ids(got.Violations), ids(want.Violations)) {
					errs <- "concurrent evaluation differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Fatal(msg)
	}
}

func TestEvaluateCancelled(t *testing.T) {
	e := defenderEngine(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, mustObject(t, workload("Pod", "shop", badSpec))); err == nil {
		t.Fatal("Evaluate with a cancelled context succeeded")
	}
}

// critical is a verdict with n critical findings, none fixable.
func critical(n int) model.ImageVerdict {
	v := model.ImageVerdict{Known: true, Verdict: model.VerdictHealthy, Counts: model.Counts{Critical: n, Total: n}}
	if n > 0 {
		v.Verdict = model.VerdictUnhealthy
	}
	return v
}

// TestEvaluateImageVerdictThreshold: the engine hands the verdict to the
// policy with the configured threshold; images without a verdict are
// listed in UnknownImages (the webhook decides them).
func TestEvaluateImageVerdictThreshold(t *testing.T) {
	high := model.ImageVerdict{Known: true, Verdict: model.VerdictUnhealthy, Counts: model.Counts{High: 3, Total: 3}, Fixable: model.Counts{High: 1, Total: 1}}
	scan := func(img string) (model.ImageVerdict, bool) {
		if img == "registry.example.com/shop/app:1.2.3" {
			return high, true
		}
		return model.ImageVerdict{}, false
	}
	for _, tt := range []struct {
		params  map[string]any
		wantMsg string
	}{
		{nil, ""},
		{map[string]any{"severity": "high"}, "3 high vulnerabilities at or above high"},
		{map[string]any{"severity": "medium", "fixable_only": true}, "1 high fixable vulnerabilities at or above medium"},
	} {
		cfg := DefaultConfig()
		cfg.Policies = map[string]PolicyConfig{ImageVulnsPolicy: {Mode: ModeEnforce, Params: tt.params}}
		e := defenderEngine(t, cfg, WithImageVerdicts(scan))
		res, err := e.Evaluate(context.Background(), mustObject(t, workload("Deployment", "shop", compliantSpec)))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, v := range res.Violations {
			if v.PolicyID == ImageVulnsPolicy {
				msgs = append(msgs, v.Message)
				if v.Mode != ModeEnforce {
					t.Errorf("mode %s", v.Mode)
				}
			}
		}
		if got := strings.Join(msgs, "; "); (tt.wantMsg == "" && got != "") || !strings.Contains(got, tt.wantMsg) {
			t.Errorf("params %v: violations %q, want %q", tt.params, got, tt.wantMsg)
		}
		if !slices.Equal(res.UnknownImages, []string{"registry.example.com/init:1.0"}) {
			t.Errorf("params %v: unknown images %v", tt.params, res.UnknownImages)
		}
	}
}
