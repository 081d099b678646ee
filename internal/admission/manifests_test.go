package admission

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/k8smanifest"
	admregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// strictDecode decodes obj into typed, refusing unknown fields: a
// misspelled field in the template fails here.
func strictDecode(t *testing.T, obj map[string]any, typed any) {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		t.Fatalf("%s: %v", obj["kind"], err)
	}
}

func TestManifests(t *testing.T) {
	tests := []struct {
		name        string
		opts        ManifestOptions
		wantFailure admregv1.FailurePolicyType
		wantNS      string
	}{
		{"defaults", ManifestOptions{}, admregv1.Fail, "bulwark-system"},
		{"ignore in custom namespace", ManifestOptions{Namespace: "sec", FailurePolicy: "Ignore", CABundle: []byte("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"), Image: "reg.example.com/bulwark@sha256:abc"}, admregv1.Ignore, "sec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := k8smanifest.Parse("manifests.yaml", []byte(Manifests(tt.opts)))
			if err != nil {
				t.Fatalf("manifests do not parse: %v", err)
			}
			var kinds []string
			var vwc *admregv1.ValidatingWebhookConfiguration
			var dep *appsv1.Deployment
			var pdb *policyv1.PodDisruptionBudget
			for _, d := range docs {
				kind := d.Object["kind"].(string)
				kinds = append(kinds, kind)
				switch kind {
				case "ValidatingWebhookConfiguration":
					vwc = &admregv1.ValidatingWebhookConfiguration{}
					strictDecode(t, d.Object, vwc)
				case "Deployment":
					dep = &appsv1.Deployment{}
					strictDecode(t, d.Object, dep)
				case "Service":
					strictDecode(t, d.Object, &corev1.Service{})
				case "ServiceAccount":
					strictDecode(t, d.Object, &corev1.ServiceAccount{})
				case "PodDisruptionBudget":
					pdb = &policyv1.PodDisruptionBudget{}
					strictDecode(t, d.Object, pdb)
				case "Role":
					strictDecode(t, d.Object, &rbacv1.Role{})
				case "RoleBinding":
					strictDecode(t, d.Object, &rbacv1.RoleBinding{})
				case "ClusterRole":
					cr := &rbacv1.ClusterRole{}
					strictDecode(t, d.Object, cr)
					if len(cr.Rules) != 1 || !slices.Equal(cr.Rules[0].Resources, []string{"namespaces"}) || !slices.Equal(cr.Rules[0].Verbs, []string{"list", "watch"}) {
						t.Errorf("cluster role rules %+v: want list and watch on namespaces only", cr.Rules)
					}
				case "ClusterRoleBinding":
					strictDecode(t, d.Object, &rbacv1.ClusterRoleBinding{})
				}
			}
			slices.Sort(kinds)
			if got := strings.Join(kinds, ","); got != "ClusterRole,ClusterRoleBinding,Deployment,PodDisruptionBudget,Role,RoleBinding,Service,ServiceAccount,ValidatingWebhookConfiguration" {
				t.Fatalf("kinds = %s", got)
			}
			if len(vwc.Webhooks) != 1 {
				t.Fatalf("%d webhooks", len(vwc.Webhooks))
			}
			w := vwc.Webhooks[0]
			if w.FailurePolicy == nil || *w.FailurePolicy != tt.wantFailure {
				t.Errorf("failurePolicy = %v, want %s", w.FailurePolicy, tt.wantFailure)
			}
			if w.SideEffects == nil || *w.SideEffects != admregv1.SideEffectClassNone {
				t.Errorf("sideEffects = %v, want None", w.SideEffects)
			}
			if w.TimeoutSeconds == nil || *w.TimeoutSeconds != 5 {
				t.Errorf("timeoutSeconds = %v, want 5", w.TimeoutSeconds)
			}
			if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
				t.Errorf("admissionReviewVersions = %v", w.AdmissionReviewVersions)
			}
			svc := w.ClientConfig.Service
			if svc == nil || svc.Namespace != tt.wantNS || svc.Path == nil || *svc.Path != PathValidate {
				t.Errorf("clientConfig.service = %+v", svc)
			}
			if string(w.ClientConfig.CABundle) != string(tt.opts.CABundle) {
				t.Errorf("caBundle = %q, want %q", w.ClientConfig.CABundle, tt.opts.CABundle)
			}
			if len(tt.opts.CABundle) > 0 && !strings.Contains(Manifests(tt.opts), base64.StdEncoding.EncodeToString(tt.opts.CABundle)) {
				t.Error("caBundle not base64 in the YAML")
			}
			ex := w.NamespaceSelector.MatchExpressions
			if len(ex) != 1 || ex[0].Operator != "NotIn" || !slices.Contains(ex[0].Values, "kube-system") || !slices.Contains(ex[0].Values, tt.wantNS) {
				t.Errorf("namespaceSelector = %+v", w.NamespaceSelector)
			}
			var resources []string
			for _, r := range w.Rules {
				if !slices.Equal(r.Operations, []admregv1.OperationType{admregv1.Create, admregv1.Update}) {
					t.Errorf("rule %v operations = %v", r.Resources, r.Operations)
				}
				resources = append(resources, r.Resources...)
			}
			for _, want := range []string{"pods", "pods/ephemeralcontainers", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicationcontrollers"} {
				if !slices.Contains(resources, want) {
					t.Errorf("rules lack %s", want)
				}
			}
			if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
				t.Errorf("replicas = %v", dep.Spec.Replicas)
			}
			c := dep.Spec.Template.Spec.Containers[0]
			if c.ReadinessProbe.HTTPGet.Path != PathReadyz || c.LivenessProbe.HTTPGet.Path != PathHealthz {
				t.Errorf("probes %s %s", c.ReadinessProbe.HTTPGet.Path, c.LivenessProbe.HTTPGet.Path)
			}
			sc := c.SecurityContext
			if sc == nil || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !*sc.RunAsNonRoot || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("container securityContext not hardened: %+v", sc)
			}
			if !slices.Contains(c.Args, "--pod-security-labels") {
				t.Errorf("args %q: namespace labels not applied", c.Args)
			}
			// Shutdown fits: preStop, then the drain delay, then the reviews
			// in flight (each within timeoutSeconds, all within the shutdown
			// timeout) end before the grace period does.
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
				t.Fatalf("no preStop sleep: %+v", c.Lifecycle)
			}
			durs := map[string]time.Duration{}
			for _, a := range c.Args {
				for _, f := range []string{"--drain-delay", "--shutdown-timeout"} {
					if v, ok := strings.CutPrefix(a, f+"="); ok {
						d, err := time.ParseDuration(v)
						if err != nil {
							t.Fatalf("%s: %v", a, err)
						}
						durs[f] = d
					}
				}
			}
			grace := dep.Spec.Template.Spec.TerminationGracePeriodSeconds
			need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + durs["--drain-delay"] + durs["--shutdown-timeout"]
			if len(durs) != 2 || grace == nil || time.Duration(*grace)*time.Second <= need {
				t.Errorf("terminationGracePeriodSeconds %v does not cover preStop + drain + shutdown = %s (%v)", grace, need, durs)
			}
			if durs["--shutdown-timeout"] < time.Duration(*w.TimeoutSeconds)*time.Second {
				t.Errorf("--shutdown-timeout %s is shorter than timeoutSeconds %d", durs["--shutdown-timeout"], *w.TimeoutSeconds)
			}
			if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
				t.Errorf("rolling update may take a replica down: %+v", dep.Spec.Strategy)
			}
			if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(*dep.Spec.Replicas) {
				t.Errorf("PodDisruptionBudget minAvailable %v does not fit %d replicas", pdb.Spec.MinAvailable, *dep.Spec.Replicas)
			}
			if tt.opts.Image != "" && c.Image != tt.opts.Image {
				t.Errorf("image = %s", c.Image)
			}
		})
	}
}

func TestManifestOptionsValidate(t *testing.T) {
	for fp, ok := range map[string]bool{"": true, "Fail": true, "Ignore": true, "fail": false, "Open": false} {
		if err := (ManifestOptions{FailurePolicy: fp}).Validate(); (err == nil) != ok {
			t.Errorf("Validate(%q) = %v", fp, err)
		}
	}
}
