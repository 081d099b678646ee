package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
)

const (
	allMetadata = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"
	allFull     = "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: RequestResponse\n"
)

// attackSteps are the suspicious requests of the run-time e2e tests: a
// privileged pod with a sensitive host mount, a cluster-admin binding, a
// wildcard role, an admission webhook, a Redis service behind a public
// load balancer, an event deleted, secrets listed by kube-hunter, an exec.
func attackSteps(t *testing.T, c *kubeenv.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "policy-e2e"
	c.CreateNamespace(t, ns, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"})
	admin := c.AdminClient
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "priv-pod", Namespace: ns},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "sh", Image: "registry.example/tools/sh:1", Command: []string{"sleep", "3600"},
				SecurityContext: &corev1.SecurityContext{Privileged: &yes},
				VolumeMounts:    []corev1.VolumeMount{{Name: "etc", MountPath: "/host/etc"}}}},
			Volumes: []corev1.Volume{{Name: "etc", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}},
		},
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	must("creating the privileged pod", err)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mallory-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "mallory"}},
	}, metav1.CreateOptions{})
	must("creating the cluster-admin binding", err)
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "everything"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}},
	}, metav1.CreateOptions{})
	must("creating the wildcard role", err)
	fail, none := admissionregistrationv1.Ignore, admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/validate"
	_, err = admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "intercept"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "intercept.e2e.bulwark.dev", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"e2e.bulwark.dev"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
			}},
			FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	must("creating the webhook configuration", err)
	_, err = admin.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "cache", Namespace: ns, Annotations: map[string]string{"team": "cache"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "redis"},
			Ports: []corev1.ServicePort{{Port: 6379, TargetPort: intstr.FromInt32(6379)}}},
	}, metav1.CreateOptions{})
	must("creating the redis service", err)
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "priv-pod.e2e", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "priv-pod"}, Reason: "Test", Message: "x", Type: corev1.EventTypeNormal}
	_, err = admin.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
	must("creating an event", err)
	must("deleting the event", admin.CoreV1().Events(ns).Delete(ctx, ev.Name, metav1.DeleteOptions{}))
	_, err = admin.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
		StringData: map[string]string{"password": "hunter2-policy-e2e"}}, metav1.CreateOptions{})
	must("creating a secret", err)
	hunter := rest.CopyConfig(c.Admin)
	hunter.UserAgent = "kube-hunter/0.6.8"
	_, err = c.Clientset(t, hunter).CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	must("listing secrets as kube-hunter", err)
	execErr := admin.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(pod.Name).SubResource("exec").
		Param("command", "id").Param("container", "sh").Param("stdout", "true").Do(ctx).Error()
	t.Logf("exec (fails without a kubelet, audited all the same): %v", execErr)
}

type replayResult struct {
	alerts   []string // alert types, sorted, unique
	blind    []string // rule ids the summary names
	logBytes int64
	minutes  float64
}

// runPolicy starts an API server with policy, drives the attack steps,
// replays its audit log and returns what fired and what was blind.
func runPolicy(t *testing.T, policy string) replayResult {
	t.Helper()
	start := time.Now()
	c := kubeenv.Start(t, kubeenv.Options{AuditPolicy: policy})
	attackSteps(t, c)
	// Blocking audit mode: every request is in the log when it returns.
	st, err := os.Stat(c.AuditLogPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := filepath.Join(t.TempDir(), "summary.json")
	out := runBulwark(t, nil, nil, "runtime", "replay", "--format", "json", "--cluster", "e2e", "--summary", sum, c.AuditLogPath)
	var res replayResult
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var a runtimeAlert
		if line == "" || json.Unmarshal([]byte(line), &a) != nil {
			continue
		}
		if !seen[a.Type] {
			seen[a.Type] = true
			res.alerts = append(res.alerts, a.Type)
		}
		if strings.Contains(line, "hunter2-policy-e2e") {
			t.Errorf("alert %s carries the secret's value", a.Type)
		}
	}
	sort.Strings(res.alerts)
	b, err := os.ReadFile(sum)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Blind []struct {
			Rule string `json:"rule"`
		} `json:"blind"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("replay summary: %v\n%s", err, b)
	}
	for _, x := range s.Blind {
		if !slices.Contains(res.blind, x.Rule) {
			res.blind = append(res.blind, x.Rule)
		}
	}
	res.logBytes, res.minutes = st.Size(), time.Since(start).Minutes()
	log, _ := os.ReadFile(c.AuditLogPath)
	if strings.Contains(string(log), "hunter2-policy-e2e") {
		t.Errorf("the audit log holds the secret's value")
	}
	return res
}

// TestRuntimeAuditPolicy: the policy `bulwark runtime audit-policy`
// prints is accepted by a real kube-apiserver and, on the attack steps,
// raises every alert an all-RequestResponse policy raises with no rule
// blind and no secret in the log; an all-Metadata policy loses the alerts
// of the rules that read bodies, and the replay names those rules.
func TestRuntimeAuditPolicy(t *testing.T) {
	generated := string(runBulwark(t, nil, nil, "runtime", "audit-policy"))
	ref := runPolicy(t, allFull)
	gen := runPolicy(t, generated)
	meta := runPolicy(t, allMetadata)

	bodyRules := []string{"K8S_ClusterAdminBinding", "K8S_ExposedRedis", "K8S_HighPrivilegesRole",
		"K8S_PrivilegedContainer", "K8S_SensitiveMount"}
	for _, want := range append(bodyRules, "K8S_AdmissionController", "K8S_DeleteEvents", "K8S_ExecIntoPod", "K8S_PenTestToolsKubeHunter") {
		if !slices.Contains(ref.alerts, want) {
			t.Errorf("the reference (all RequestResponse) raised no %s: %v", want, ref.alerts)
		}
	}
	if strings.Join(gen.alerts, ",") != strings.Join(ref.alerts, ",") {
		t.Errorf("generated policy alerts %v, all-RequestResponse %v", gen.alerts, ref.alerts)
	}
	if len(gen.blind) > 0 || len(ref.blind) > 0 {
		t.Errorf("blind rules: generated %v, reference %v", gen.blind, ref.blind)
	}
	for _, r := range bodyRules {
		if slices.Contains(meta.alerts, r) {
			t.Errorf("%s fired from a Metadata-only log", r)
		}
		if !slices.Contains(meta.blind, r) {
			t.Errorf("all-Metadata replay does not name %s blind: %v", r, meta.blind)
		}
	}
	for _, r := range []string{"K8S_AdmissionController", "K8S_DeleteEvents", "K8S_ExecIntoPod", "K8S_PenTestToolsKubeHunter"} {
		if !slices.Contains(meta.alerts, r) {
			t.Errorf("%s fires on metadata but did not fire at Metadata: %v", r, meta.alerts)
		}
	}
	// It fires, but without the webhook list its output reads from the body.
	if !slices.Contains(meta.blind, "K8S_AdmissionController") {
		t.Errorf("all-Metadata replay does not name K8S_AdmissionController partly blind: %v", meta.blind)
	}
	t.Logf("audit log volume on the same traffic: all RequestResponse %d bytes (%.0f B/min), generated %d bytes (%.0f B/min, %.0f%%), all Metadata %d bytes",
		ref.logBytes, float64(ref.logBytes)/ref.minutes, gen.logBytes, float64(gen.logBytes)/gen.minutes,
		100*float64(gen.logBytes)/float64(ref.logBytes), meta.logBytes)
	if gen.logBytes >= ref.logBytes {
		t.Errorf("the generated policy wrote %d bytes, all-RequestResponse %d: it should cost less", gen.logBytes, ref.logBytes)
	}
}
