package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// runtimeAlert is the part of an alert line the test reads.
type runtimeAlert struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Count    int    `json:"count"`
	Resource struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"resource"`
	Properties map[string]string `json:"properties"`
}

func readRuntimeAlerts(t *testing.T, path string) []runtimeAlert {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []runtimeAlert
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var a runtimeAlert
		if json.Unmarshal(sc.Bytes(), &a) == nil { // a half-written last line is read next time
			out = append(out, a)
		}
	}
	return out
}

// TestRuntimeWatchAudit feeds `bulwark runtime watch` from a real
// kube-apiserver through both audit backends at once (webhook and log
// file) and checks that each suspicious request raises its alert once, on
// the right object: the two backends carry the same audit IDs, and watch
// drops an audit ID it has already seen.
func TestRuntimeWatchAudit(t *testing.T) {
	bin := bulwark.Path(t)
	dir := t.TempDir()
	ca := testpki.NewCA(t)
	pair := ca.Issue(t, dir, "audit-receiver", "127.0.0.1")
	port := testproc.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var tok [16]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])

	c := kubeenv.Start(t, kubeenv.Options{
		AuditWebhookURL:   "https://" + addr + "/audit",
		AuditWebhookCA:    ca.PEM,
		AuditWebhookToken: token,
		// The receiver starts after the API server (it follows the API
		// server's log file, whose path Start picks): retry soon.
		ExtraArgs: []string{"--audit-webhook-initial-backoff=200ms"},
	})

	// With no kubelet every exec here fails after authorisation: the
	// built-in K8S_ExecIntoPod counts the attempt, and so does a user rule
	// given with --rules (which shows user rules load).
	rules := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rules, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rules, "E2E_PodExecAttempt.yaml"), []byte(execAttemptRule), 0o644); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "alerts.jsonl")
	watch := testproc.Start(t, dir, "bulwark-runtime-watch", bin,
		"--log-level", "info", "--cache-dir", filepath.Join(dir, "cache"),
		"runtime", "--rules", rules, "watch", "--cluster", "e2e",
		"--audit-webhook", addr, "--audit-cert", pair.CertFile, "--audit-key", pair.KeyFile, "--audit-token", token,
		"--audit-log", c.AuditLogPath, "--audit-checkpoint", filepath.Join(dir, "checkpoints"),
		"--output", out, "--stats-interval", "1s")
	waitListening(t, watch, addr)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "runtime-e2e"
	c.CreateNamespace(t, ns, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"})
	admin := c.AdminClient

	// A privileged pod. No scheduler or kubelet: it stays Pending, which is
	// all the audit log needs.
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "priv-pod", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "sh", Image: "registry.example/tools/sh:1", Command: []string{"sleep", "3600"},
			SecurityContext: &corev1.SecurityContext{Privileged: &yes},
		}}},
	}
	if _, err := admin.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the privileged pod: %v", err)
	}
	// A user bound to cluster-admin.
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "mallory-admin"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: "mallory"}},
	}
	if _, err := admin.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the cluster-admin binding: %v", err)
	}
	// A validating webhook configuration (pointing nowhere, failing open,
	// for a resource nothing here creates).
	fail, none := admissionregistrationv1.Ignore, admissionregistrationv1.SideEffectClassNone
	url := "https://127.0.0.1:1/validate"
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "intercept-secrets"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "intercept.e2e.bulwark.dev", ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.PEM},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"e2e.bulwark.dev"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
			}},
			FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := admin.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the webhook configuration: %v", err)
	}
	// An event, then its deletion.
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "priv-pod.e2e", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "priv-pod"},
		Reason:         "Test", Message: "to be deleted", Type: corev1.EventTypeNormal,
	}
	if _, err := admin.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating an event: %v", err)
	}
	if err := admin.CoreV1().Events(ns).Delete(ctx, ev.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("deleting the event: %v", err)
	}
	// Secrets read, once plainly (no alert: reading a secret is ordinary)
	// and once by a penetration-testing tool's user agent.
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: ns}, StringData: map[string]string{"password": "hunter2"}}
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a secret: %v", err)
	}
	if _, err := admin.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("reading the secret: %v", err)
	}
	hunterCfg := rest.CopyConfig(c.Admin)
	hunterCfg.UserAgent = "kube-hunter/0.6.8"
	if _, err := c.Clientset(t, hunterCfg).CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing secrets as kube-hunter: %v", err)
	}
	// Exec into the pod: with no kubelet the request fails, but it is
	// audited (and an attempt is what the alert is about).
	execErr := admin.CoreV1().RESTClient().Post().Namespace(ns).Resource("pods").Name(pod.Name).SubResource("exec").
		Param("command", "sh").Param("command", "-c").Param("command", "id").Param("container", "sh").
		Param("stdout", "true").Do(ctx).Error()
	t.Logf("exec into %s/%s (expected to fail without a kubelet): %v", ns, pod.Name, execErr)

	obj := func(namespace, kind, name string) string { // model.KubeObjectID
		if namespace == "" {
			namespace = "-"
		}
		return "e2e/" + namespace + "/" + kind + "/" + name
	}
	want := map[string]string{ // alert type -> resource id
		"K8S_PrivilegedContainer":    obj(ns, "Pod", "priv-pod"),
		"K8S_ClusterAdminBinding":    obj("", "ClusterRoleBinding", "mallory-admin"),
		"K8S_AdmissionController":    obj("", "ValidatingWebhookConfiguration", "intercept-secrets"),
		"K8S_DeleteEvents":           obj(ns, "Event", "priv-pod.e2e"),
		"K8S_PenTestToolsKubeHunter": "e2e/" + ns, // a list of secrets: the namespace listed
		"E2E_PodExecAttempt":         obj(ns, "Pod", "priv-pod"),
		"K8S_ExecIntoPod":            obj(ns, "Pod", "priv-pod"),
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		missing := missingTypes(readRuntimeAlerts(t, out), want)
		if len(missing) == 0 {
			break
		}
		if err := watch.Exited(); err != nil {
			t.Fatalf("runtime watch: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts not raised within 90 s: %v\ngot: %v", missing, readRuntimeAlerts(t, out))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Both backends must have delivered our requests: wait until the
	// webhook's copies came in and were dropped as duplicates.
	statsLine := regexp.MustCompile(`msg="runtime watch stats" engine_events=(\d+) duplicates=(\d+)`)
	webhookLine := regexp.MustCompile(`msg="runtime watch (?:stats|stopped)" source=k8s-audit-webhook events=(\d+)`)
	deadline = time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(watch.Log())
		dups, hooked := lastInt(statsLine, b, 2), lastInt(webhookLine, b, 1)
		if dups > 0 && hooked > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit webhook delivered %d events and %d duplicates were dropped within 60 s; want both > 0; log:\n%s", hooked, dups, watch.Tail(30))
		}
		time.Sleep(300 * time.Millisecond)
	}
	// Both copies of the last requests are in once the next batch is
	// flushed (the API server's batch wait is 1 s).
	time.Sleep(2 * time.Second)
	watch.Stop() // SIGTERM: drain
	if err := watch.Exited(); !strings.Contains(err.Error(), "exited early (<nil>)") {
		t.Errorf("runtime watch did not exit 0 on SIGTERM: %v", err)
	}
	logb, _ := os.ReadFile(watch.Log())
	if !strings.Contains(string(logb), `msg="runtime watch stopped"`) {
		t.Errorf("no exit stats in the log:\n%s", watch.Tail(30))
	}

	got := readRuntimeAlerts(t, out)
	ids := map[string]map[string]bool{}
	final := map[string]runtimeAlert{}
	for _, a := range got {
		k := a.Type + " " + a.Resource.ID
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][a.ID] = true
		final[k] = a
	}
	for typ, res := range want {
		k := typ + " " + res
		a, ok := final[k]
		if !ok {
			t.Errorf("no %s alert on %s; got %v", typ, res, keysOf(final))
			continue
		}
		if len(ids[k]) != 1 || a.Count != 1 {
			t.Errorf("%s on %s: %d alert ids, final count %d; want one alert with count 1 (each request once, though both backends delivered it)",
				typ, res, len(ids[k]), a.Count)
		}
	}
	if a := final["K8S_PrivilegedContainer "+want["K8S_PrivilegedContainer"]]; a.Resource.Kind != "pod" || a.Resource.Name != "priv-pod" {
		t.Errorf("privileged container alert resource %+v, want pod priv-pod", a.Resource)
	}
	if a := final["K8S_ClusterAdminBinding "+want["K8S_ClusterAdminBinding"]]; a.Properties["user"] != kubeenv.AdminUser {
		t.Errorf("cluster-admin binding alert user %q, want %s", a.Properties["user"], kubeenv.AdminUser)
	}
	// The plain secret read raised nothing of its own.
	for k := range final {
		if strings.HasPrefix(k, "K8S_") && strings.Contains(k, "/secrets/db-password") {
			t.Errorf("unexpected alert on a plain secret read: %s", k)
		}
	}
}

const execAttemptRule = `id: E2E_PodExecAttempt
title: Exec into a pod attempted
description: Someone asked the API server to exec into a pod, whether or not it succeeded.
severity: low
tactics: [Execution]
techniques: [T1609]
sources: [k8s-audit]
kinds: [k8s.audit]
match:
  actions: [create, get]
  resources: [pods]
  subresources: [exec]
condition: evt.k8s.subresource == "exec"
output:
  code: string(evt.k8s.code)
resource: object
tests:
  - name: a failed exec
    fire: true
    events:
      - {source: k8s-audit, kind: k8s.audit, k8s: {verb: create, user: alice, resource: pods, subresource: exec, namespace: prod, name: web-1, code: 400}}
`

func missingTypes(got []runtimeAlert, want map[string]string) []string {
	have := map[string]bool{}
	for _, a := range got {
		have[a.Type+" "+a.Resource.ID] = true
	}
	var missing []string
	for typ, res := range want {
		if !have[typ+" "+res] {
			missing = append(missing, typ+" on "+res)
		}
	}
	return missing
}

func keysOf(m map[string]runtimeAlert) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// lastInt is submatch n of the last match of re in b, or -1.
func lastInt(re *regexp.Regexp, b []byte, n int) int {
	ms := re.FindAllSubmatch(b, -1)
	if len(ms) == 0 {
		return -1
	}
	v, err := strconv.Atoi(string(ms[len(ms)-1][n]))
	if err != nil {
		return -1
	}
	return v
}

// waitListening waits until addr accepts TCP connections.
func waitListening(t *testing.T, p *testproc.Process, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return
		}
		if err := p.Exited(); err != nil {
			t.Fatalf("runtime watch: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime watch not listening on %s after 60 s: %v; log:\n%s", addr, err, p.Tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
