package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
)

// TestAdmissionPodSecurityLabels: `admission serve --pod-security-labels`
// watches the real API server's namespaces and applies their
// pod-security.kubernetes.io labels, each mode at its version: a sysctl safe
// from PSS v1.32 on is denied where enforce-version is v1.31, admitted
// with a warning where only warn is v1.31, admitted silently at latest;
// a label changed after the webhook started is applied too (the watch).
func TestAdmissionPodSecurityLabels(t *testing.T) {
	// The API server's own PodSecurity exempts these namespaces (it would
	// refuse the pinned one's pod itself, before any webhook): every
	// verdict seen here is Bulwark's.
	exempt := []string{"e2e-pinned", "e2e-warned", "e2e-latest"}
	admCfg := filepath.Join(t.TempDir(), "admission.yaml")
	if err := os.WriteFile(admCfg, []byte(`apiVersion: apiserver.config.k8s.io/v1
kind: AdmissionConfiguration
plugins:
  - name: PodSecurity
    configuration:
      apiVersion: pod-security.admission.config.k8s.io/v1
      kind: PodSecurityConfiguration
      defaults: {enforce: privileged, enforce-version: latest, audit: privileged, audit-version: latest, warn: privileged, warn-version: latest}
      exemptions: {usernames: [], runtimeClasses: [], namespaces: [`+strings.Join(exempt, ", ")+`]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := kubeenv.Start(t, kubeenv.Options{ExtraArgs: []string{"--admission-control-config-file=" + admCfg}})
	ca := testpki.NewCA(t)
	wh := startWebhook(t, ca, "labels", "", "--pod-security-labels", "--kubeconfig", c.Kubeconfig(t, c.Admin, "default"))
	manifests := runBulwark(t, nil, nil, "admission", "manifests", "--ca-bundle", writeTemp(t, "ca.crt", ca.PEM))
	hook := shippedWebhook(t, manifests, ca.PEM)
	hook.Name = "labels.e2e.bulwark.dev"
	url := wh.URL
	hook.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca.PEM}
	hook.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{webhookLabel: "labels"}}
	ctx := context.Background()
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "bulwark-e2e-labels"}, Webhooks: []admissionregistrationv1.ValidatingWebhook{hook}}
	if _, err := c.AdminClient.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, vwc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("registering the webhook: %v", err)
	}
	ns := func(name string, labels map[string]string) {
		labels[webhookLabel] = "labels"
		c.CreateNamespace(t, name, labels)
	}
	pss := "pod-security.kubernetes.io/"
	ns("e2e-pinned", map[string]string{pss + "enforce": "baseline", pss + "enforce-version": "v1.31"})
	ns("e2e-warned", map[string]string{pss + "warn": "baseline", pss + "warn-version": "v1.31"})
	ns("e2e-latest", map[string]string{pss + "enforce": "baseline"})
	// Until the API server calls the webhook: a privileged pod where
	// enforce is baseline.
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, err := c.AdminClient.CoreV1().Pods("e2e-latest").Create(ctx, privilegedPod("probe"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), "labels.e2e.bulwark.dev") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook not called 30 s after registration (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	warn := &warnings{}
	cfg := rest.CopyConfig(c.Admin)
	cfg.WarningHandler = warn
	cs := c.Clientset(t, cfg)
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	pod := hardened("tuned", sysctl("net.ipv4.tcp_rmem", "4096 87380 6291456"))

	_, err := cs.CoreV1().Pods("e2e-pinned").Create(ctx, pod.DeepCopy(), dryRun)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "BW-PSS-SYSCTLS") || !strings.Contains(err.Error(), "baseline:v1.31") {
		t.Errorf("enforce baseline v1.31: got %v, want Forbidden by BW-PSS-SYSCTLS at baseline:v1.31", err)
	}
	warn.take()
	if _, err := cs.CoreV1().Pods("e2e-warned").Create(ctx, pod.DeepCopy(), dryRun); err != nil {
		t.Errorf("warn baseline v1.31: %v", err)
	}
	if !hasPrefixed(warn.take(), "bulwark [BW-PSS-SYSCTLS]") {
		t.Error("warn baseline v1.31: no BW-PSS-SYSCTLS warning")
	}
	if _, err := cs.CoreV1().Pods("e2e-latest").Create(ctx, pod.DeepCopy(), dryRun); err != nil {
		t.Errorf("enforce baseline latest: %v", err)
	}

	// Moving the label: the webhook sees it through its watch.
	n, err := c.AdminClient.CoreV1().Namespaces().Get(ctx, "e2e-latest", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels[pss+"enforce-version"] = "v1.31"
	if _, err := c.AdminClient.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := cs.CoreV1().Pods("e2e-latest").Create(ctx, pod.DeepCopy(), dryRun)
		if apierrors.IsForbidden(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after enforce-version v1.31 was set: got %v, want Forbidden", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
