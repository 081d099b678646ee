package admission

import (
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/policy"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// tunedPod is restricted apart from a sysctl safe from PSS v1.32 on, and
// runs an unpinned image (an audit-mode Defender violation).
const tunedPod = `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tuned"}, "spec": {
	"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}, "sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]},
	"containers": [{"name": "app", "image": "registry.example/app:latest", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}}`

// TestHandlerNamespaceLabels: the real engine behind the handler, with a
// namespace cache: each namespace's labels decide the PSS verdicts (enforce
// denies, warn warns, audit annotates, each at its version); other
// policies keep their configured modes; unlabelled namespaces keep the
// PSS policies' configured modes.
func TestHandlerNamespaceLabels(t *testing.T) {
	ctx := context.Background()
	eng, err := policy.New(ctx, &policy.Config{Sets: []string{policy.SetPSSBaseline, policy.SetPSSRestricted, policy.SetDefender},
		PodSecurity: policy.PodSecurityConfig{Namespaces: map[string]map[string]string{"overridden": {"enforce": "baseline", "enforce-version": "v1.31"}}}})
	if err != nil {
		t.Fatal(err)
	}
	nsc := NewNamespaceCache(eng, nil)
	lbl := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[policy.PSSLabelPrefix+kv[i]] = kv[i+1]
		}
		return m
	}
	nsc.Set("pinned", lbl("enforce", "baseline", "enforce-version", "v1.31"))
	nsc.Set("current", lbl("enforce", "baseline", "warn", "restricted", "warn-version", "v1.31", "audit", "baseline", "audit-version", "v1.30"))
	nsc.Set("overridden", lbl("enforce", "privileged"))
	nsc.Set("gone", lbl("enforce", "restricted"))
	nsc.Delete("gone")
	nsc.Set("plain", map[string]string{"team": "x"})
	h, err := NewHandler(HandlerOptions{Evaluator: eng, Namespaces: nsc})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ns              string
		kind            string // default Pod
		allowed         bool
		warn, notWarn   []string // policy ids among the warnings, or not
		audit, notAudit []string // among the audit annotation, or not
		denyMessage     string
	}{
		// tcp_rmem is forbidden before v1.32; no PSS warning on a denied pod.
		{ns: "pinned", allowed: false, warn: []string{"BW-K8S-IMAGE-TAG"}, notWarn: []string{"BW-PSS-SYSCTLS"}, notAudit: []string{"BW-PSS-SYSCTLS"},
			denyMessage: `forbidden sysctl "net.ipv4.tcp_rmem"`},
		{ns: "current", allowed: true, warn: []string{"BW-PSS-SYSCTLS", "BW-K8S-IMAGE-TAG"}, audit: []string{"BW-PSS-SYSCTLS", "BW-K8S-IMAGE-TAG"}},
		{ns: "overridden", allowed: false, denyMessage: "Pod Security enforce baseline:v1.31"},
		// A workload template is warned about, not denied, as by the API server.
		{ns: "pinned", kind: "Deployment", allowed: true, warn: []string{"BW-PSS-SYSCTLS", "BW-K8S-IMAGE-TAG"}},
		// No labels: the configured modes at latest.
		{ns: "gone", allowed: true, warn: []string{"BW-K8S-IMAGE-TAG"}, notWarn: []string{"BW-PSS-SYSCTLS"}},
		{ns: "plain", allowed: true, warn: []string{"BW-K8S-IMAGE-TAG"}, notWarn: []string{"BW-PSS-SYSCTLS"}},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.kind, func(t *testing.T) {
			obj, gvk := tunedPod, metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}
			if tt.kind == "Deployment" {
				obj = `{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "tuned"}, "spec": {"template": ` + tunedPod + `}}`
				gvk = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
			}
			req := &admissionv1.AdmissionRequest{UID: "u1", Operation: admissionv1.Create, Namespace: tt.ns, Name: "tuned",
				Kind: gvk, Object: runtime.RawExtension{Raw: []byte(obj)}}
			resp, _ := h.Review(ctx, req)
			if resp.Allowed != tt.allowed {
				t.Fatalf("allowed %v, want %v: %+v", resp.Allowed, tt.allowed, resp.Result)
			}
			if tt.denyMessage != "" && !strings.Contains(resp.Result.Message, tt.denyMessage) {
				t.Errorf("deny message %q lacks %q", resp.Result.Message, tt.denyMessage)
			}
			warnings := strings.Join(resp.Warnings, "\n")
			ann := resp.AuditAnnotations[AuditAnnotationKey]
			for _, c := range []struct {
				what, got string
				in        bool
				ids       []string
			}{{"warnings", warnings, true, tt.warn}, {"warnings", warnings, false, tt.notWarn}, {"audit annotation", ann, true, tt.audit}, {"audit annotation", ann, false, tt.notAudit}} {
				for _, id := range c.ids {
					present := strings.Contains(c.got, "["+id+"]") || strings.Contains(c.got, `"`+id+`"`)
					if present != c.in {
						t.Errorf("%s: %s in=%v wanted:\n%s", c.what, id, c.in, c.got)
					}
				}
			}
		})
	}
}

func TestNewHandlerNamespacesNeedNamespacedEvaluator(t *testing.T) {
	if _, err := NewHandler(HandlerOptions{Evaluator: &fakeEvaluator{}, Namespaces: NewNamespaceCache(nil, nil)}); err == nil {
		t.Error("no error for an evaluator that cannot apply namespace policies")
	}
}
