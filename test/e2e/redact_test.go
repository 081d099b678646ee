package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// verboseAuditPolicy logs every request with its bodies: what a cluster
// should not do for Secrets, and what the redaction must then survive.
const verboseAuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: RequestResponse
`

// TestAuditSecretRedacted creates a Secret and a service account token
// through a real kube-apiserver that audits them at RequestResponse,
// lists the secrets as kube-hunter (an alert on secrets), and replays the
// audit log through the bulwark binary: the alert is raised, and neither
// the secret's value (plain or base64) nor the token appears in any
// output format.
func TestAuditSecretRedacted(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{AuditPolicy: verboseAuditPolicy})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns = "redact-e2e"
	c.CreateNamespace(t, ns, nil)
	admin := c.AdminClient
	var v [12]byte
	rand.Read(v[:])
	value := "pw-" + hex.EncodeToString(v[:])
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: ns}, StringData: map[string]string{"password": value}}
	if _, err := admin.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the secret: %v", err)
	}
	if _, err := admin.CoreV1().Secrets(ns).Get(ctx, sec.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("reading the secret: %v", err)
	}
	hunterCfg := rest.CopyConfig(c.Admin)
	hunterCfg.UserAgent = "kube-hunter/0.6.8"
	hunter := c.Clientset(t, hunterCfg)
	if _, err := hunter.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing secrets as kube-hunter: %v", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "robot", Namespace: ns}}
	if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a service account: %v", err)
	}
	tr, err := hunter.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"https://kubernetes.default.svc.cluster.local"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a token: %v", err)
	}
	token := tr.Status.Token
	secrets := map[string]string{"value": value, "base64 value": base64.StdEncoding.EncodeToString([]byte(value)), "token": token,
		"token signature": token[strings.LastIndexByte(token, '.')+1:]}

	// The audit log holds them (blocking mode: written before the answer).
	logb, err := os.ReadFile(c.AuditLogPath)
	if err != nil {
		t.Fatal(err)
	}
	// (The API server folds stringData into data before it audits the
	// request object: the plain value need not be there, its base64 is.)
	for what, s := range secrets {
		if what != "value" && !strings.Contains(string(logb), s) {
			t.Fatalf("the audit log does not hold the %s: the test would prove nothing", what)
		}
	}
	// Only this test's events, as an API server's log would be shipped.
	var lines []string
	for _, l := range strings.Split(string(logb), "\n") {
		if strings.Contains(l, ns) {
			lines = append(lines, l)
		}
	}
	replay := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(replay, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "table"} {
		out, code, stderr := execBulwark(t, nil, "--cache-dir", t.TempDir(), "runtime", "replay", "--format", format, replay)
		if code != 0 {
			t.Fatalf("replay %s: exit %d: %s", format, code, stderr)
		}
		if !strings.Contains(string(out), "K8S_PenTestToolsKubeHunter") {
			t.Errorf("replay %s: no K8S_PenTestToolsKubeHunter alert:\n%s", format, out)
		}
		for what, s := range secrets {
			if strings.Contains(string(out), s) || strings.Contains(stderr, s) {
				t.Errorf("replay %s: the output holds the %s", format, what)
			}
		}
		if format == "json" && !strings.Contains(string(out), `\"password\":\"REDACTED\"`) {
			t.Errorf("replay json: the evidence does not show the redacted data member:\n%.3000s", out)
		}
	}
}
