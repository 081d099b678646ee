package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

const (
	webhookLabel = "e2e.bulwark.dev/webhook"
	// pinnedImage passes the tag/digest policy, so the compliant objects
	// below break no policy at all.
	pinnedImage = "registry.example/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// TestAdmissionWebhook registers `bulwark admission serve` with a real API
// server by URL and checks every admission path through client-go. One API
// server is shared by the subtests (it takes seconds to start); each
// subtest uses its own object names.
func TestAdmissionWebhook(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{})
	ca := testpki.NewCA(t)

	enforce := startWebhook(t, ca, "enforce", "", "--exempt-namespace", "kube-system", "--exempt-namespace", "e2e-exempt")
	audit := startWebhook(t, ca, "audit", auditModeConfig(t))
	dead := "https://127.0.0.1:" + itoa(testproc.FreePort(t)) + "/validate" // nothing listens there

	manifests := runBulwark(t, nil, nil, "admission", "manifests", "--ca-bundle", writeTemp(t, "ca.crt", ca.PEM))
	template := shippedWebhook(t, manifests, ca.PEM)
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bulwark-e2e"}}
	for _, h := range []struct {
		name, url string
		policy    admissionregistrationv1.FailurePolicyType
	}{
		{"enforce", enforce.URL, admissionregistrationv1.Fail},
		{"audit", audit.URL, admissionregistrationv1.Fail},
		{"down-fail", dead, admissionregistrationv1.Fail},
		{"down-ignore", dead, admissionregistrationv1.Ignore},
	} {
		wh := *template.DeepCopy()
		wh.Name = h.name + ".e2e.bulwark.dev"
		url := h.url
		wh.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.PEM}
		wh.FailurePolicy = &h.policy
		if wh.NamespaceSelector == nil {
			wh.NamespaceSelector = &metav1.LabelSelector{}
		}
		wh.NamespaceSelector.MatchLabels = map[string]string{webhookLabel: h.name}
		vwc.Webhooks = append(vwc.Webhooks, wh)
		c.CreateNamespace(t, "e2e-"+h.name, map[string]string{webhookLabel: h.name})
	}
	c.CreateNamespace(t, "e2e-exempt", map[string]string{webhookLabel: "enforce"})
	ctx := context.Background()
	if _, err := c.AdminClient.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the webhooks: %v", err)
	}
	waitWebhookActive(t, c.AdminClient)

	warn := &warnings{}
	cfg := rest.CopyConfig(c.Admin)
	cfg.WarningHandler = warn
	cs := c.Clientset(t, cfg)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

	t.Run("enforce denies a privileged pod", func(t *testing.T) {
		_, err := cs.CoreV1().Pods("e2e-enforce").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("creating a privileged pod: got %v, want Forbidden", err)
		}
		if err := containsAll(err.Error(), `admission webhook "enforce.e2e.bulwark.dev" denied the request`,
			"Pod e2e-enforce/priv violates", "[BW-PSS-PRIVILEGED]", `container "app" must not set securityContext.privileged=true`,
			"(fix: Remove securityContext.privileged"); err != nil {
			t.Error(err)
		}
		if _, err := cs.CoreV1().Pods("e2e-enforce").Get(ctx, "priv", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the denied pod exists (get: %v)", err)
		}
	})

	t.Run("audit admits with warnings and audit annotations", func(t *testing.T) {
		warn.take()
		if _, err := cs.CoreV1().Pods("e2e-audit").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a privileged pod in audit mode: %v", err)
		}
		if !hasPrefixed(warn.take(), "bulwark [BW-PSS-PRIVILEGED] container \"app\" must not set securityContext.privileged=true (fix: ") {
			t.Error("no BW-PSS-PRIVILEGED warning reached the client")
		}
		ann := auditAnnotation(t, c.AuditLogPath, "e2e-audit", "priv", "audit.e2e.bulwark.dev/violations")
		if err := containsAll(ann, `"policy":"BW-PSS-PRIVILEGED"`, `"path":"spec.containers[0].securityContext.privileged"`); err != nil {
			t.Errorf("audit annotation: %v", err)
		}
	})

	t.Run("compliant deployment admitted without warnings", func(t *testing.T) {
		before := enforce.decisions(t)
		warn.take()
		if _, err := cs.AppsV1().Deployments("e2e-enforce").Create(ctx, compliantDeployment("web"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a compliant deployment: %v", err)
		}
		if w := warn.take(); hasPrefixed(w, "bulwark") {
			t.Errorf("warnings for a compliant deployment: %q", w)
		}
		if after := enforce.decisions(t); after["allow"] != before["allow"]+1 {
			t.Errorf("webhook allow decisions %d → %d, want one more (was it reviewed?)", before["allow"], after["allow"])
		}
	})

	t.Run("exempt namespace is not checked", func(t *testing.T) {
		before := enforce.decisions(t)
		if _, err := cs.CoreV1().Pods("e2e-exempt").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating a privileged pod in the exempt namespace: %v", err)
		}
		after := enforce.decisions(t)
		if after["skip"] != before["skip"]+1 || after["deny"] != before["deny"] {
			t.Errorf("webhook decisions %v → %v: want one more skip and no deny", before, after)
		}
	})

	t.Run("dry run is reviewed without side effects", func(t *testing.T) {
		before := enforce.decisions(t)
		_, err := cs.CoreV1().Pods("e2e-enforce").Create(ctx, privilegedPod("dry-priv"), dryRun)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "[BW-PSS-PRIVILEGED]") {
			t.Errorf("dry-run privileged pod: got %v, want our denial", err)
		}
		if _, err := cs.CoreV1().Pods("e2e-enforce").Create(ctx, compliantPod("dry-ok"), dryRun); err != nil {
			t.Errorf("dry-run compliant pod: %v", err)
		}
		after := enforce.decisions(t)
		if after["deny"] != before["deny"]+1 || after["allow"] != before["allow"]+1 {
			t.Errorf("webhook decisions %v → %v: want one more deny and one more allow", before, after)
		}
		warn.take()
		if _, err := cs.CoreV1().Pods("e2e-audit").Create(ctx, privilegedPod("dry-audit"), dryRun); err != nil {
			t.Errorf("dry-run privileged pod in audit mode: %v", err)
		}
		if !hasPrefixed(warn.take(), "bulwark [BW-PSS-PRIVILEGED]") {
			t.Error("dry run in audit mode: no warning")
		}
		// The webhook saw the requests as dry runs.
		if err := logHas(enforce.proc.Log(), "name=dry-ok", "dry_run=true", "decision=allow"); err != nil {
			t.Error(err)
		}
		for _, ref := range []struct{ ns, name string }{{"e2e-enforce", "dry-ok"}, {"e2e-audit", "dry-audit"}} {
			if _, err := cs.CoreV1().Pods(ref.ns).Get(ctx, ref.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("dry-run pod %s/%s was persisted (get: %v)", ref.ns, ref.name, err)
			}
		}
	})

	t.Run("ephemeral containers are checked", func(t *testing.T) {
		pod, err := cs.CoreV1().Pods("e2e-enforce").Create(ctx, compliantPod("debug-target"), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("creating a compliant pod: %v", err)
		}
		pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "debug", Image: "registry.example/debug:1", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
		}}}
		_, err = cs.CoreV1().Pods("e2e-enforce").UpdateEphemeralContainers(ctx, pod.Name, pod, metav1.UpdateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("adding a privileged ephemeral container: got %v, want Forbidden", err)
		}
		if err := containsAll(err.Error(), `admission webhook "enforce.e2e.bulwark.dev" denied the request`, "[BW-PSS-PRIVILEGED]", `"debug"`); err != nil {
			t.Error(err)
		}
	})

	t.Run("webhook down: failurePolicy decides", func(t *testing.T) {
		_, err := cs.CoreV1().Pods("e2e-down-fail").Create(ctx, compliantPod("ok"), metav1.CreateOptions{})
		if err == nil || !strings.Contains(err.Error(), `failed calling webhook "down-fail.e2e.bulwark.dev"`) {
			t.Errorf("failurePolicy Fail with the webhook down: got %v, want the call failure", err)
		}
		if _, err := cs.CoreV1().Pods("e2e-down-ignore").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{}); err != nil {
			t.Errorf("failurePolicy Ignore with the webhook down: %v", err)
		}
	})

	t.Run("shipped manifests pass server-side validation", func(t *testing.T) {
		c.CreateNamespace(t, "bulwark-system", nil)
		applyDryRun(t, c.Admin, manifests)
	})
}

// auditModeConfig is a policy config that puts every policy in audit mode.
func auditModeConfig(t *testing.T) string {
	t.Helper()
	var rep struct {
		Policies []struct {
			ID string `json:"id"`
		} `json:"policies"`
	}
	out := runBulwark(t, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), nil, "scan", "k8s", "--format", "json", "-")
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Policies) == 0 {
		t.Fatalf("listing policies from scan k8s --format json: %v (%d policies)", err, len(rep.Policies))
	}
	var b strings.Builder
	b.WriteString("policies:\n")
	for _, p := range rep.Policies {
		b.WriteString("  " + p.ID + ": {mode: audit}\n")
	}
	return b.String()
}

// shippedWebhook returns the webhook of `bulwark admission manifests`: the
// e2e webhooks are copies of it with a URL instead of the Service, so its
// rules, sideEffects, timeout and selector are what gets tested.
func shippedWebhook(t *testing.T, manifests, caPEM []byte) admissionregistrationv1.ValidatingWebhook {
	t.Helper()
	for _, doc := range splitYAML(manifests) {
		var vwc admissionregistrationv1.ValidatingWebhookConfiguration
		if err := yaml.Unmarshal(doc, &vwc); err != nil {
			t.Fatalf("decoding a manifest document: %v\n%s", err, doc)
		}
		if vwc.Kind != "ValidatingWebhookConfiguration" {
			continue
		}
		if len(vwc.Webhooks) != 1 {
			t.Fatalf("shipped ValidatingWebhookConfiguration has %d webhooks, want 1", len(vwc.Webhooks))
		}
		wh := vwc.Webhooks[0]
		if !bytes.Equal(wh.ClientConfig.CABundle, caPEM) {
			t.Errorf("shipped webhook caBundle is not the --ca-bundle file")
		}
		if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("shipped webhook sideEffects %v: want None (dry-run requests are refused otherwise)", wh.SideEffects)
		}
		if wh.ClientConfig.Service == nil || wh.ClientConfig.Service.Path == nil || *wh.ClientConfig.Service.Path != "/validate" {
			t.Errorf("shipped webhook path: want /validate")
		}
		return wh
	}
	t.Fatal("admission manifests printed no ValidatingWebhookConfiguration")
	return admissionregistrationv1.ValidatingWebhook{}
}

// waitWebhookActive waits until the API server calls the new webhooks (it
// picks configurations up asynchronously).
func waitWebhookActive(t *testing.T, cs kubernetes.Interface) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := cs.CoreV1().Pods("e2e-enforce").Create(context.Background(), privilegedPod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "enforce.e2e.bulwark.dev") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook not called 30 s after registration (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func privilegedPod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example/app:1",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)},
		}}},
	}
}

// compliantPodSpec breaks no built-in policy: restricted PSS, read-only
// root, limits, no token automount, image pinned by digest.
func compliantPodSpec() corev1.PodSpec {
	lim := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	return corev1.PodSpec{
		AutomountServiceAccountToken: ptr(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name: "app", Image: pinnedImage,
			Resources: corev1.ResourceRequirements{Limits: lim, Requests: lim},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false),
				ReadOnlyRootFilesystem:   ptr(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}

func compliantPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: compliantPodSpec()}
}

func compliantDeployment(name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: compliantPodSpec()},
		},
	}
}

func hasPrefixed(msgs []string, prefix string) bool {
	for _, m := range msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

// auditAnnotation returns one annotation of the create event of pod ns/name
// in the audit log (written before the response: blocking mode).
func auditAnnotation(t *testing.T, path, ns, name, key string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening audit log: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var e struct {
			Verb        string
			Stage       string
			ObjectRef   *struct{ Resource, Namespace, Name string }
			Annotations map[string]string
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line: %v", err)
		}
		if e.Verb == "create" && e.Stage == "ResponseComplete" && e.ObjectRef != nil && e.ObjectRef.Resource == "pods" && e.ObjectRef.Namespace == ns && e.ObjectRef.Name == name {
			if v, ok := e.Annotations[key]; ok {
				return v
			}
			t.Fatalf("audit event for pod %s/%s has no %s annotation (annotations %v)", ns, name, key, e.Annotations)
		}
	}
	t.Fatalf("audit log has no create event for pod %s/%s", ns, name)
	return ""
}

// applyDryRun creates every document of a multi-document YAML with a
// server-side dry run: the API server validates it fully and keeps nothing.
func applyDryRun(t *testing.T, cfg *rest.Config, manifests []byte) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, doc := range splitYAML(manifests) {
		var u unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &u.Object); err != nil || len(u.Object) == 0 {
			continue
		}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s %s: no such resource on the API server: %v", gvk, u.GetName(), err)
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if _, err := ri.Create(context.Background(), &u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			t.Errorf("%s %s/%s: %v", gvk.Kind, u.GetNamespace(), u.GetName(), err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no manifest documents")
	}
}

// logHas finds a line of a log file holding every one of subs.
func logHas(path string, subs ...string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if containsAll(line, subs...) == nil {
			return nil
		}
	}
	return fmt.Errorf("%s: no line with all of %q", path, subs)
}

func splitYAML(b []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(append([]byte("\n"), b...), []byte("\n---")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func itoa(i int) string { return strconv.Itoa(i) }
