// Package kubeenv runs a real kube-apiserver (with Debian's etcd) on
// loopback for one test: token authentication, RBAC, PodSecurity and
// webhook admission, an audit policy and log, and optionally an audit
// webhook. Everything is stopped and removed when the test ends.
package kubeenv

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DefaultAPIServer is where test/build-kube.sh puts kube-apiserver.
const DefaultAPIServer = "/var/tmp/bulwark-kube/bin/kube-apiserver"

// Users in the token file.
const (
	AdminUser = "e2e-admin" // in system:masters
	PlainUser = "e2e-user"  // no RBAC grants beyond system:authenticated
)

// Options configure Start.
type Options struct {
	// AuditWebhookURL, when set, makes the API server also send audit
	// events there (audit.k8s.io/v1 EventList POSTs), trusting
	// AuditWebhookCA (PEM) and sending AuditWebhookToken as a bearer token.
	AuditWebhookURL   string
	AuditWebhookCA    []byte
	AuditWebhookToken string
	// AuditWebhookMode is "batch" (default; flushed at least every second)
	// or "blocking".
	AuditWebhookMode string
	// ExtraArgs are appended to kube-apiserver's command line (a list flag
	// such as --enable-admission-plugins appends to the default's items).
	ExtraArgs []string
	// AuthorizationMode replaces "Node,RBAC" (a list flag: ExtraArgs
	// could only add modes).
	AuthorizationMode string
	// AuditPolicy replaces the default AuditPolicy (a cluster that logs
	// more than it should, for the redaction tests).
	AuditPolicy string
	// StartTimeout bounds the wait for /readyz (default 90 s: the first
	// start on a busy 2-core machine is slow).
	StartTimeout time.Duration
}

// Cluster is a running API server.
type Cluster struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// CAPEM is the CA of the serving certificate.
	CAPEM []byte
	// Admin (system:masters) and User (plain authenticated user) configs.
	Admin, User *rest.Config
	// AdminClient and UserClient are clientsets over Admin and User.
	AdminClient, UserClient kubernetes.Interface
	// AuditLogPath is the JSON-lines audit log (audit.k8s.io/v1 Events).
	AuditLogPath string
	// Dir holds every file of this cluster (certs, configs, logs).
	Dir string
	// APIServerPID and EtcdPID are the live processes (bench k8s reads
	// their /proc entries).
	APIServerPID, EtcdPID int
	// EtcdURL is etcd's client URL (http://127.0.0.1:PORT).
	EtcdURL string

	apiserver  string
	args       []string
	adminToken string
	proc       *testproc.Process
}

// AuditPolicy is the audit policy the API server runs with:
// RequestResponse for the workload and RBAC objects detectors read in full,
// Metadata for secrets (never their content) and everything else.
const AuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: Metadata
  resources:
  - group: ""
    resources: ["secrets"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods", "pods/exec", "pods/attach", "pods/ephemeralcontainers", "configmaps"]
  - group: "apps"
    resources: ["deployments"]
  - group: "rbac.authorization.k8s.io"
    resources: ["rolebindings", "clusterrolebindings"]
  - group: "admissionregistration.k8s.io"
    resources: ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]
- level: Metadata
`

// Start starts etcd and kube-apiserver and waits until the API server is
// ready. It skips (fails in CI) when either binary is missing.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	apiserver := lookBinary(t, "BULWARK_KUBE_APISERVER", DefaultAPIServer, "build it with test/build-kube.sh")
	etcdBin := lookBinary(t, "BULWARK_ETCD", "etcd", "install Debian's etcd-server")
	if o.StartTimeout <= 0 {
		o.StartTimeout = 90 * time.Second
	}
	dir := t.TempDir()
	c := &Cluster{Dir: dir, AuditLogPath: filepath.Join(dir, "audit.log")}

	etcdURL, etcdPID := startEtcd(t, dir, etcdBin)
	c.EtcdPID, c.EtcdURL = etcdPID, etcdURL

	ca := testpki.NewCA(t)
	serving := ca.Issue(t, dir, "apiserver", "127.0.0.1", "localhost")
	c.CAPEM = ca.PEM
	adminToken, userToken := token(t), token(t)
	tokens := fmt.Sprintf("%s,%s,%s-uid,\"system:masters\"\n%s,%s,%s-uid\n", adminToken, AdminUser, AdminUser, userToken, PlainUser, PlainUser)
	saKey := writeRSAKey(t, dir, "sa.key")
	port := testproc.FreePort(t)
	c.URL = "https://127.0.0.1:" + strconv.Itoa(port)

	args := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + serving.CertFile,
		"--tls-private-key-file=" + serving.KeyFile,
		"--token-auth-file=" + writeFile(t, dir, "tokens.csv", tokens),
		"--authorization-mode=" + cmp.Or(o.AuthorizationMode, "Node,RBAC"),
		"--allow-privileged=true",
		"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,ValidatingAdmissionWebhook,MutatingAdmissionWebhook",
		"--service-cluster-ip-range=10.96.0.0/24",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--audit-policy-file=" + writeFile(t, dir, "audit-policy.yaml", cmp.Or(o.AuditPolicy, AuditPolicy)),
		"--audit-log-path=" + c.AuditLogPath,
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		// One API server with no peers, no controllers: skip the work that
		// only matters in a real cluster.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
	if o.AuditWebhookURL != "" {
		mode := o.AuditWebhookMode
		if mode == "" {
			mode = "batch"
		}
		args = append(args,
			"--audit-webhook-config-file="+writeFile(t, dir, "audit-webhook.kubeconfig", auditKubeconfig(o)),
			"--audit-webhook-mode="+mode)
		if mode == "batch" {
			args = append(args, "--audit-webhook-batch-max-wait=1s")
		}
	}
	args = append(args, o.ExtraArgs...)
	proc := testproc.Start(t, dir, "kube-apiserver", apiserver, args...)
	c.APIServerPID = proc.Pid()
	c.apiserver, c.args, c.adminToken, c.proc = apiserver, args, adminToken, proc

	c.Admin = c.restConfig(adminToken)
	c.User = c.restConfig(userToken)
	if err := waitReady(t, proc, c, adminToken, o.StartTimeout); err != nil {
		t.Fatalf("kube-apiserver: %v", err)
	}
	c.AdminClient = c.Clientset(t, c.Admin)
	c.UserClient = c.Clientset(t, c.User)
	return c
}

// RestartAPIServer stops kube-apiserver (SIGTERM), waits down, starts it
// again with the same flags, port and etcd, and waits until it is ready:
// clients' watches break and resume from their last resourceVersion.
// during, when set, runs while it is down (etcd still up); extra flags
// are added to this start only.
func (c *Cluster) RestartAPIServer(t testing.TB, down time.Duration, during func(), extra ...string) {
	t.Helper()
	c.proc.Stop()
	if during != nil {
		during()
	}
	time.Sleep(down)
	c.proc = testproc.Start(t, c.Dir, fmt.Sprintf("kube-apiserver-%d", time.Now().UnixNano()), c.apiserver, append(slices.Clone(c.args), extra...)...)
	c.APIServerPID = c.proc.Pid()
	if err := waitReady(t, c.proc, c, c.adminToken, 90*time.Second); err != nil {
		t.Fatalf("kube-apiserver after a restart: %v", err)
	}
}

// restConfig is a client config for one bearer token.
func (c *Cluster) restConfig(tok string) *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     tok,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM},
		QPS:             200,
		Burst:           400,
		Timeout:         30 * time.Second,
	}
}

// Clientset builds a clientset from cfg (e.g. a copy of Admin with a
// WarningHandler).
func (c *Cluster) Clientset(t testing.TB, cfg *rest.Config) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building clientset for %s: %v", cfg.Host, err)
	}
	return cs
}

// CreateNamespace creates a namespace with labels and its "default"
// service account (there is no controller manager to create it, and the
// ServiceAccount admission plugin refuses pods without it).
func (c *Cluster) CreateNamespace(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.AdminClient.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := c.AdminClient.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating service account %s/default: %v", name, err)
	}
}

func startEtcd(t testing.TB, dir, bin string) (string, int) {
	t.Helper()
	client, peer := testproc.FreePort(t), testproc.FreePort(t)
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", client)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	p := testproc.Start(t, dir, "etcd", bin,
		"--name=e2e",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL,
		"--logger=zap", "--log-level=warn",
	)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(clientURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return clientURL, p.Pid()
			}
		}
		if err := p.Exited(); err != nil {
			t.Fatalf("etcd: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd: not healthy after 30 s (last error %v); log:\n%s", err, p.Tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReady polls /readyz until it answers 200 "ok".
func waitReady(t testing.TB, p *testproc.Process, c *Cluster, tok string, timeout time.Duration) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.CAPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for {
		req, _ := http.NewRequest(http.MethodGet, c.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if err := p.Exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s (last: %s); log:\n%s", timeout, last, p.Tail(30))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func auditKubeconfig(o Options) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n- name: audit\n  cluster:\n")
	fmt.Fprintf(&b, "    server: %q\n", o.AuditWebhookURL)
	if len(o.AuditWebhookCA) > 0 {
		fmt.Fprintf(&b, "    certificate-authority-data: %s\n", base64.StdEncoding.EncodeToString(o.AuditWebhookCA))
	}
	b.WriteString("users:\n- name: apiserver\n  user:\n")
	if o.AuditWebhookToken != "" {
		fmt.Fprintf(&b, "    token: %q\n", o.AuditWebhookToken)
	} else {
		b.WriteString("    {}\n")
	}
	b.WriteString("contexts:\n- name: audit\n  context:\n    cluster: audit\n    user: apiserver\ncurrent-context: audit\n")
	return b.String()
}

func token(t testing.TB) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("token: %v", err)
	}
	return hex.EncodeToString(b)
}

func writeRSAKey(t testing.TB, dir, name string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generating service-account key: %v", err)
	}
	return writeFile(t, dir, name, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})))
}

func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatalf("writing %s: %v", p, err)
	}
	return p
}

// Kubeconfig writes a kubeconfig for cfg's bearer token (Admin or User)
// whose context is cluster "e2e" with the given namespace, and returns its
// path; for the binaries under test.
func (c *Cluster) Kubeconfig(t testing.TB, cfg *rest.Config, namespace string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n- name: e2e\n  cluster:\n")
	fmt.Fprintf(&b, "    server: %q\n    certificate-authority-data: %s\n", c.URL, base64.StdEncoding.EncodeToString(c.CAPEM))
	fmt.Fprintf(&b, "users:\n- name: user\n  user:\n    token: %q\n", cfg.BearerToken)
	b.WriteString("contexts:\n- name: e2e\n  context:\n    cluster: e2e\n    user: user\n")
	if namespace != "" {
		fmt.Fprintf(&b, "    namespace: %q\n", namespace)
	}
	b.WriteString("current-context: e2e\n")
	return writeFile(t, t.TempDir(), "kubeconfig", b.String())
}
