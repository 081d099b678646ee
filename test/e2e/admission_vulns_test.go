package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
)

const (
	vulnDigest  = "sha256:a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
	cleanDigest = "sha256:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
	// e2eAdvisory makes npm e2e-vulnerable < 2.0.0 critical.
	e2eAdvisory = `{"schema_version":"1.6.0","id":"GHSA-2099-e2e0-0001","modified":"2026-01-01T00:00:00Z","published":"2026-01-01T00:00:00Z","aliases":["CVE-2099-0001"],` +
		`"summary":"e2e: a critical flaw","affected":[{"package":{"ecosystem":"npm","name":"e2e-vulnerable"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"2.0.0"}]}]}],` +
		`"severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],"database_specific":{"severity":"CRITICAL"}}`
)

// imageReport is an image report as `scan image -f json` writes it, with
// one npm package: the server matches it with its own DB.
func imageReport(digest, ref, pkg, version string) []byte {
	rep := map[string]any{
		"schema_version": "1", "tool": map[string]string{"name": "bulwark", "version": "e2e"}, "generated_at": "2026-12-01T00:00:00Z",
		"resource": map[string]string{"kind": "image", "id": digest, "name": ref},
		"image":    map[string]any{"reference": ref, "source": "registry", "digest": digest},
		"packages": []map[string]string{{"name": pkg, "version": version, "type": "npm", "purl": "pkg:npm/" + pkg + "@" + version,
			"path": "/app/node_modules/" + pkg + "/package.json"}},
		"findings": []any{}, "summary": map[string]any{"verdict": "healthy", "healthy": true, "threshold": "medium", "counts": map[string]int{}},
	}
	b, _ := json.Marshal(rep)
	return b
}

// TestAdmissionImageVulns: a real server knows image A as vulnerable (a
// report whose package its DB holds a critical advisory for) and image B
// as clean; the webhook takes its policy config from the server
// (BW-K8S-IMAGE-VULNS enforced at high) and its verdicts through the
// cache: the real API server denies a pod running A and admits one
// running B; a new policy config is put in force without a restart; with
// the server stopped the verdicts held still decide and an image it never
// judged gets the stated unknown behaviour (warn).
func TestAdmissionImageVulns(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{})
	ca := testpki.NewCA(t)
	ctx := context.Background()

	// The server, with a DB built from one advisory.
	feeds := filepath.Join(t.TempDir(), "osv")
	if err := os.MkdirAll(feeds, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(feeds, "GHSA-2099-e2e0-0001.json"), []byte(e2eAdvisory), 0o644); err != nil {
		t.Fatal(err)
	}
	serverCache, dataDir := t.TempDir(), t.TempDir()
	runBulwark(t, nil, nil, "db", "update", "--cache-dir", serverCache, "--source", feeds)
	addr := "127.0.0.1:" + itoa(testproc.FreePort(t))
	srv := testproc.Start(t, dataDir, "server", bulwark.Path(t), "--cache-dir", serverCache, "server", "--data-dir", dataDir, "--listen", addr, "--db-update-interval", "0")
	base := "http://" + addr
	waitHTTP(t, base+"/readyz")
	token := func(scopes string) string {
		return strings.TrimSpace(string(runBulwark(t, nil, nil, "token", "create", "--data-dir", dataDir, "--name", scopes, "--scope", scopes)))
	}
	ingestTok, adminTok, readTok := token("ingest"), token("admin,read"), token("read")
	call := func(method, path, tok string, body []byte, want int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body) //nolint:errcheck
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, buf.String())
		}
		return buf.Bytes()
	}
	call("POST", "/api/v1/reports?kind=image", ingestTok, imageReport(vulnDigest, "registry.example/shop:vuln", "e2e-vulnerable", "1.0.0"), 201)
	call("POST", "/api/v1/reports?kind=image", ingestTok, imageReport(cleanDigest, "registry.example/shop:clean", "e2e-fine", "1.0.0"), 201)
	var verdicts struct {
		Items []struct {
			Known         bool   `json:"known"`
			WorstSeverity string `json:"worst_severity"`
		} `json:"items"`
	}
	out := call("POST", "/api/v1/images/verdicts", readTok, []byte(`{"images": ["registry.example/shop@`+vulnDigest+`", "registry.example/shop:clean"]}`), 200)
	if err := json.Unmarshal(out, &verdicts); err != nil || len(verdicts.Items) != 2 || !verdicts.Items[0].Known || verdicts.Items[0].WorstSeverity != "critical" ||
		!verdicts.Items[1].Known || verdicts.Items[1].WorstSeverity != "" {
		t.Fatalf("the server's verdicts: %s", out)
	}
	enforceHigh := "sets: [defender]\npolicies:\n  BW-K8S-IMAGE-VULNS: {mode: enforce, params: {severity: high}}\n"
	call("PUT", "/api/v1/config/policies", adminTok, mustJSON(map[string]string{"config": enforceHigh}), 200)

	// The webhook, configured by the server.
	wh := startWebhook(t, ca, "vulns", "", "--server", base, "--token", readTok, "--config-interval", "1s", "--verdict-ttl", "2s", "--cache-dir", t.TempDir())
	manifests := runBulwark(t, nil, nil, "admission", "manifests", "--ca-bundle", writeTemp(t, "ca.crt", ca.PEM))
	hook := shippedWebhook(t, manifests, ca.PEM)
	hook.Name = "vulns.e2e.bulwark.dev"
	url := wh.URL
	hook.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.PEM}
	fail := admissionregistrationv1.Fail
	hook.FailurePolicy = &fail
	hook.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{webhookLabel: "vulns"}}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bulwark-e2e-vulns"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{hook}}
	c.CreateNamespace(t, "e2e-vulns", map[string]string{webhookLabel: "vulns"})
	if _, err := c.AdminClient.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.AdminClient.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), vwc.Name, metav1.DeleteOptions{}) //nolint:errcheck
	})
	var warns warnings
	cfg := *c.Admin
	cfg.WarningHandler = &warns
	cs := c.Clientset(t, &cfg)
	pods := cs.CoreV1().Pods("e2e-vulns")
	pod := func(name, image string) *corev1.Pod {
		p := compliantPod(name)
		p.Spec.Containers[0].Image = image
		return p
	}
	imageA, imageB := "registry.example/shop@"+vulnDigest, "registry.example/shop:clean"

	// The first review of an image the webhook never asked about is
	// decided by the unknown behaviour (warn) while its verdict is
	// fetched; the following ones by the verdict.
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for {
		_, err = pods.Create(ctx, pod("probe-a", imageA), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "BW-K8S-IMAGE-VULNS") || !strings.Contains(err.Error(), "1 critical vulnerabilities at or above high") {
		t.Fatalf("pod running A: %v", err)
	}
	if _, err := pods.Create(ctx, pod("shop-a", imageA), metav1.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "vulns.e2e.bulwark.dev") {
		t.Errorf("pod running A created: %v", err)
	}
	warns.take()
	deadline = time.Now().Add(30 * time.Second)
	for {
		pods.Create(ctx, pod("probe-b", imageB), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}) //nolint:errcheck
		if !strings.Contains(strings.Join(warns.take(), "\n"), "no vulnerability verdict") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := pods.Create(ctx, pod("shop-b", imageB), metav1.CreateOptions{}); err != nil {
		t.Errorf("pod running B refused: %v", err)
	}
	if w := strings.Join(warns.take(), "\n"); strings.Contains(w, "IMAGE-VULNS") {
		t.Errorf("pod running B warned: %s", w)
	}

	// A new policy config on the server is in force without a restart:
	// the policy audits, A is admitted with a warning.
	call("PUT", "/api/v1/config/policies", adminTok, mustJSON(map[string]string{"config": strings.Replace(enforceHigh, "enforce", "audit", 1)}), 200)
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err = pods.Create(ctx, pod("probe-a2", imageA), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil || !strings.Contains(strings.Join(warns.take(), "\n"), "1 critical vulnerabilities") {
		t.Fatalf("A after the policy went to audit mode: %v", err)
	}
	call("PUT", "/api/v1/config/policies", adminTok, mustJSON(map[string]string{"config": enforceHigh}), 200)
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, err = pods.Create(ctx, pod("probe-a3", imageA), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err == nil {
		t.Fatal("A admitted after the policy was enforced again")
	}

	// audit k8s with --server judges the images running in the cluster by
	// the server's verdicts, fetched in one batch: A runs in a namespace
	// the webhook does not watch, B where it does, C is unknown.
	c.CreateNamespace(t, "e2e-unwatched", nil)
	if _, err := c.AdminClient.CoreV1().Pods("e2e-unwatched").Create(ctx, pod("shop-a", imageA), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AdminClient.CoreV1().Pods("e2e-unwatched").Create(ctx, pod("shop-c", "registry.example/shop:never-scanned"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	auditTok := token("ingest,read")
	out = runBulwark(t, nil, nil, "audit", "k8s", "--kubeconfig", c.Kubeconfig(t, c.Admin, ""), "-A", "-f", "json", "--policies", "BW-K8S-IMAGE-VULNS",
		"--server", base, "--token", auditTok)
	var audit struct {
		Results []struct {
			Namespace, Name string
			Violations      []struct {
				PolicyID string `json:"policy_id"`
				Message  string `json:"message"`
			} `json:"violations"`
			Skipped map[string]string `json:"skipped"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &audit); err != nil {
		t.Fatalf("audit k8s output: %v\n%s", err, out)
	}
	judged := map[string]string{}
	for _, r := range audit.Results {
		key := r.Namespace + "/" + r.Name
		switch {
		case len(r.Violations) > 0:
			judged[key] = r.Violations[0].Message
		case r.Skipped["BW-K8S-IMAGE-VULNS"] != "":
			judged[key] = "skipped: " + r.Skipped["BW-K8S-IMAGE-VULNS"]
		default:
			judged[key] = "healthy"
		}
	}
	if m := judged["e2e-unwatched/shop-a"]; !strings.Contains(m, "1 critical vulnerabilities at or above critical") {
		t.Errorf("audit k8s of the pod running A: %q (all: %v)", m, judged)
	}
	if m := judged["e2e-vulns/shop-b"]; m != "healthy" {
		t.Errorf("audit k8s of the pod running B: %q", m)
	}
	if m := judged["e2e-unwatched/shop-c"]; !strings.Contains(m, "skipped: no scan results for image(s): registry.example/shop:never-scanned") {
		t.Errorf("audit k8s of the pod running an unknown image: %q", m)
	}

	// The server stops: the verdicts held still decide (past their TTL),
	// and an image never judged is admitted with a warning (the default
	// --image-vulns-unknown warn).
	srv.Stop()
	time.Sleep(3 * time.Second) // past --verdict-ttl: the refresh fails
	if _, err := pods.Create(ctx, pod("shop-a-down", imageA), metav1.CreateOptions{}); err == nil {
		t.Error("pod running A admitted with the server down")
	}
	warns.take()
	if _, err := pods.Create(ctx, pod("shop-c", "registry.example/shop:never-scanned"), metav1.CreateOptions{}); err != nil {
		t.Errorf("pod running an unknown image, server down: %v", err)
	}
	if w := strings.Join(warns.take(), "\n"); !strings.Contains(w, "no vulnerability verdict") {
		t.Errorf("no unknown-image warning with the server down: %q", w)
	}
	resp, err := wh.hc.Get(wh.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var metrics bytes.Buffer
	metrics.ReadFrom(resp.Body) //nolint:errcheck
	resp.Body.Close()
	if err := containsAll(metrics.String(), "bulwark_admission_image_verdict_server_down 1", `bulwark_admission_image_verdict_lookups_total{result="hit"}`); err != nil {
		t.Error(err)
	}
	for _, line := range []string{"image verdicts: server unreachable", "remote config: server unreachable"} {
		if err := logHas(wh.proc.Log(), line); err != nil {
			t.Error(err)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint(err))
	}
	return b
}

// waitHTTP waits for url to answer 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 30s", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
