package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testpki"
	"github.com/bulwarkdev/bulwark/test/testproc"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// benchReport is the part of `bench k8s -f json` the tests read
// (docs/schema.md, "Kubernetes cluster benchmark").
type benchReport struct {
	SchemaVersion string `json:"schema_version"`
	Tool          struct {
		Name string `json:"name"`
	} `json:"tool"`
	Resource benchResource `json:"resource"`
	Results  []struct {
		Resource    benchResource `json:"resource"`
		Assessments []struct {
			Rule     string   `json:"rule"`
			Status   string   `json:"status"`
			Severity string   `json:"severity"`
			Evidence []string `json:"evidence"`
		} `json:"assessments"`
	} `json:"results"`
	Summary struct {
		Unhealthy int `json:"unhealthy"`
		Total     int `json:"total"`
	} `json:"summary"`
}

type benchResource struct {
	Kind   string            `json:"kind"`
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Parent string            `json:"parent"`
	Labels map[string]string `json:"labels"`
}

// statuses maps rule → status over every resource of the report.
func (r benchReport) statuses() map[string]string {
	out := map[string]string{}
	for _, rr := range r.Results {
		for _, a := range rr.Assessments {
			out[a.Rule] = a.Status
		}
	}
	return out
}

func (r benchReport) evidence(rule string) string {
	for _, rr := range r.Results {
		for _, a := range rr.Assessments {
			if a.Rule == rule {
				return strings.Join(a.Evidence, "; ")
			}
		}
	}
	return ""
}

// benchNode is one control-plane node under test: the live kube-apiserver
// and etcd of a kubeenv cluster, plus stand-ins for kube-scheduler and
// kube-controller-manager started with the given flags, all reachable
// through a proc directory that holds only their /proc entries (other
// engineers' API servers on the same machine stay out of the picture).
type benchNode struct {
	cluster *kubeenv.Cluster
	proc    string
	pids    []int
}

func startBenchNode(t testing.TB, o kubeenv.Options, cmArgs, schedArgs []string) *benchNode {
	t.Helper()
	c := kubeenv.Start(t, o)
	dir := t.TempDir()
	fake := filepath.Join(dir, "fakecomponent")
	build := exec.Command("go", "build", "-o", fake, "github.com/bulwarkdev/bulwark/test/fakecomponent")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building fakecomponent: %v\n%s", err, out)
	}
	n := &benchNode{cluster: c, proc: filepath.Join(dir, "proc"), pids: []int{c.APIServerPID, c.EtcdPID}}
	for name, args := range map[string][]string{"kube-controller-manager": cmArgs, "kube-scheduler": schedArgs} {
		bin := filepath.Join(dir, name)
		if err := os.Link(fake, bin); err != nil {
			t.Fatal(err)
		}
		p := testproc.Start(t, dir, name, bin, args...)
		n.pids = append(n.pids, p.Pid())
	}
	if err := os.Mkdir(n.proc, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, pid := range n.pids {
		if err := os.Symlink("/proc/"+strconv.Itoa(pid), filepath.Join(n.proc, strconv.Itoa(pid))); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// bench runs `bulwark bench k8s` on the node and the API, as JSON.
func (n *benchNode) bench(t *testing.T, cacheDir string, args ...string) benchReport {
	t.Helper()
	kc := n.cluster.Kubeconfig(t, n.cluster.Admin, "")
	base := []string{"bench", "k8s", "--cache-dir", cacheDir, "--kubeconfig", kc, "--node", "--root", "/", "--proc", n.proc, "--node-name", "cp-e2e", "-f", "json"}
	out := runBulwark(t, nil, nil, append(base, args...)...)
	var r benchReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("bench k8s output: %v\n%s", err, out)
	}
	return r
}

// k8sCVEDB builds a bulwark DB holding only the Kubernetes CVE feed of
// ../shared, for the version check.
func k8sCVEDB(t *testing.T) string {
	t.Helper()
	feed, err := filepath.Abs("../../../shared/vulndata/k8s/k8s-cve-feed-osv.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(feed); err != nil {
		kubeenv.Skipf(t, "needs the Kubernetes CVE feed of ../shared (%v)", err)
	}
	cache := t.TempDir()
	runBulwark(t, nil, nil, "db", "update", "--cache-dir", cache, "--source", feed)
	return cache
}

var (
	// hardenedAPIServer is what CIS 1.12 asks of the API server, as far as
	// a loopback test cluster can (etcd stays plain HTTP, and the harness's
	// token file stays: 1.2.2, 1.2.23 and 1.2.26 fail in both).
	hardenedCM    = []string{"--profiling=false", "--use-service-account-credentials=true", "--service-account-private-key-file=/etc/kubernetes/pki/sa.key", "--root-ca-file=/etc/kubernetes/pki/ca.crt", "--bind-address=127.0.0.1", "--terminated-pod-gc-threshold=10"}
	hardenedSched = []string{"--profiling=false", "--bind-address=127.0.0.1"}
)

func hardenedAPIServer(t testing.TB) []string {
	ca := testpki.NewCA(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "client-ca.crt")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := ca.Issue(t, dir, "apiserver-kubelet-client", "127.0.0.1")
	return []string{
		"--anonymous-auth=false",
		"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,PodSecurity,ValidatingAdmissionWebhook,MutatingAdmissionWebhook,NodeRestriction,AlwaysPullImages,DenyServiceExternalIPs",
		"--audit-log-maxage=30", "--audit-log-maxbackup=10", "--audit-log-maxsize=100",
		"--service-account-extend-token-expiration=false",
		"--client-ca-file=" + caFile,
		"--kubelet-client-certificate=" + kc.CertFile, "--kubelet-client-key=" + kc.KeyFile,
		"--kubelet-certificate-authority=" + caFile,
		"--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	}
}

// insecureAPIServer undoes the hardening and adds what CIS warns about;
// authorization is RBAC alone, without Node (not AlwaysAllow: the API
// server then turns anonymous authentication off whatever --anonymous-auth
// says, which the probe sees and a flag check cannot).
var insecureAPIServer = []string{
	"--anonymous-auth=true",
	"--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,AlwaysAdmit",
	"--profiling=true",
	"--audit-log-path=", "--audit-policy-file=",
	"--tls-cipher-suites=TLS_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
}

// TestBenchK8sNodeFlags starts the real API server twice, hardened and
// insecure, and checks that `bench k8s --node` reading the live processes
// flips exactly the controls the flags change.
func TestBenchK8sNodeFlags(t *testing.T) {
	cache := k8sCVEDB(t)
	hardened := startBenchNode(t, kubeenv.Options{ExtraArgs: hardenedAPIServer(t)}, hardenedCM, hardenedSched)
	good := hardened.bench(t, cache)
	kubeSystem, err := hardened.cluster.AdminClient.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if good.SchemaVersion != "1" || good.Tool.Name != "bulwark" || good.Resource.Kind != "cluster" || good.Resource.ID != string(kubeSystem.UID) || good.Resource.Name != "e2e" {
		t.Errorf("report header: %+v", good)
	}
	if len(good.Results) != 2 || good.Results[1].Resource.Kind != "node" || good.Results[1].Resource.Parent != string(kubeSystem.UID) {
		t.Errorf("results: want the cluster then node cp-e2e, got %+v", good.Results)
	}
	gs := good.statuses()
	if len(gs) != 136 {
		t.Errorf("%d assessments, want 131 CIS checks and 5 cluster recommendations", len(gs))
	}
	for rule, want := range map[string]string{
		"CIS-K8S-1.2.1": "healthy", "CIS-K8S-1.2.6": "healthy", "CIS-K8S-1.2.15": "healthy", "CIS-K8S-1.2.16": "healthy", "CIS-K8S-1.2.29": "healthy",
		"CIS-K8S-1.3.2": "healthy", "CIS-K8S-1.4.2": "healthy", "CIS-K8S-1.2.2": "unhealthy", "CIS-K8S-2.1": "unhealthy", "CIS-K8S-2.3": "healthy",
		"BW-K8S-CLUSTER-ANONYMOUS": "healthy", "BW-K8S-CLUSTER-AUDIT-LOG": "healthy", "BW-K8S-CLUSTER-VERSION": "healthy",
		"CIS-K8S-4.2.1": "not-applicable", // no kubelet runs here
	} {
		if gs[rule] != want {
			t.Errorf("hardened %s: %s, want %s (%s)", rule, gs[rule], want, good.evidence(rule))
		}
	}
	if !strings.Contains(good.evidence("CIS-K8S-1.2.15"), "kube-apiserver (pid "+strconv.Itoa(hardened.cluster.APIServerPID)+"): --profiling=false") {
		t.Errorf("1.2.15 evidence should name the live process: %s", good.evidence("CIS-K8S-1.2.15"))
	}
	if !strings.Contains(good.evidence("BW-K8S-CLUSTER-VERSION"), "Kubernetes v1.36.3") {
		t.Errorf("version evidence: %s", good.evidence("BW-K8S-CLUSTER-VERSION"))
	}

	insecure := startBenchNode(t, kubeenv.Options{ExtraArgs: insecureAPIServer, AuthorizationMode: "RBAC"}, nil, []string{"--profiling=true"})
	bad := insecure.bench(t, cache, "--cluster-name", "insecure")
	if bad.Resource.Name != "insecure" {
		t.Errorf("--cluster-name: %q", bad.Resource.Name)
	}
	bs := bad.statuses()
	var flipped []string
	for rule, s := range gs {
		if bs[rule] == s {
			continue
		}
		flipped = append(flipped, rule)
		if s != "healthy" || bs[rule] != "unhealthy" {
			t.Errorf("%s: %s → %s, want healthy → unhealthy (%s)", rule, s, bs[rule], bad.evidence(rule))
		}
	}
	sort.Strings(flipped)
	want := []string{
		"BW-K8S-CLUSTER-ANONYMOUS", "BW-K8S-CLUSTER-AUDIT-LOG",
		"CIS-K8S-1.2.1", "CIS-K8S-1.2.10", "CIS-K8S-1.2.11", "CIS-K8S-1.2.14", "CIS-K8S-1.2.15", "CIS-K8S-1.2.16", "CIS-K8S-1.2.17",
		"CIS-K8S-1.2.18", "CIS-K8S-1.2.19", "CIS-K8S-1.2.25", "CIS-K8S-1.2.29", "CIS-K8S-1.2.3", "CIS-K8S-1.2.30", "CIS-K8S-1.2.4",
		"CIS-K8S-1.2.5", "CIS-K8S-1.2.7",
		"CIS-K8S-1.3.1", "CIS-K8S-1.3.2", "CIS-K8S-1.3.3", "CIS-K8S-1.3.4", "CIS-K8S-1.3.5", "CIS-K8S-1.3.7", "CIS-K8S-1.4.1", "CIS-K8S-1.4.2",
		"CIS-K8S-3.2.1",
	}
	if !slices.Equal(flipped, want) {
		t.Errorf("flipped controls:\n got %q\nwant %q", flipped, want)
	}
	if !strings.Contains(bad.evidence("BW-K8S-CLUSTER-ANONYMOUS"), "GET /api without credentials: 403") {
		t.Errorf("anonymous evidence: %s", bad.evidence("BW-K8S-CLUSTER-ANONYMOUS"))
	}
	if e := bad.evidence("CIS-K8S-1.2.29"); !strings.Contains(e, "weak: TLS_RSA_WITH_AES_128_CBC_SHA") {
		t.Errorf("1.2.29 evidence: %s", e)
	}
	// The CI gate: any failed check exits with the given code.
	if _, code, _ := execBulwark(t, nil, "bench", "k8s", "--kubeconfig", insecure.cluster.Kubeconfig(t, insecure.cluster.Admin, ""), "--cache-dir", cache, "--exit-code", "3"); code != 3 {
		t.Errorf("--exit-code 3: exit %d", code)
	}
}

// TestBenchK8sPolicies creates RBAC, namespace and workload objects through
// the real API and checks the section 5 and cluster verdicts they flip.
func TestBenchK8sPolicies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := kubeenv.Start(t, kubeenv.Options{})
	cs := c.AdminClient
	cache := t.TempDir()
	kc := c.Kubeconfig(t, c.Admin, "")
	run := func() benchReport {
		out := runBulwark(t, nil, nil, "bench", "k8s", "--kubeconfig", kc, "--cache-dir", cache, "--targets", "policies,cluster", "-f", "json")
		var r benchReport
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return r
	}
	// A tidy start: default enforces restricted and has a NetworkPolicy.
	def, err := cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	def.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, def, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies("default").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "deny"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	before := run()
	bs := before.statuses()
	for rule, want := range map[string]string{
		"CIS-K8S-5.1.1": "healthy", "CIS-K8S-5.1.3": "healthy", "CIS-K8S-5.1.2": "healthy", "CIS-K8S-5.4.1": "healthy", "CIS-K8S-5.3.2": "healthy",
		"BW-K8S-CLUSTER-PSA-LABELS": "healthy", "BW-K8S-CLUSTER-SERVICE-PORTS": "healthy",
		"BW-K8S-CLUSTER-ANONYMOUS": "unhealthy",             // the harness leaves --anonymous-auth at its default
		"BW-K8S-CLUSTER-VERSION":   "not-assessed",          // no DB in this cache
		"BW-K8S-CLUSTER-AUDIT-LOG": "not-assessed",          // no mirror pod: the flags are not visible from the API
		"CIS-K8S-1.2.1":            "", "CIS-K8S-4.2.1": "", // node targets not asked for
	} {
		if bs[rule] != want {
			t.Errorf("before %s: %q, want %q (%s)", rule, bs[rule], want, before.evidence(rule))
		}
	}

	// A wildcard ClusterRole bound to a user, cluster-admin bound to a
	// service account, a namespace without NetworkPolicy or Pod Security
	// label, a pod taking a Secret in its environment, a NodePort.
	c.CreateNamespace(t, "team-a", nil)
	mustCreate := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "everything"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-everything"},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "everything"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice", APIGroup: "rbac.authorization.k8s.io"}}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ci-admin"},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "team-a", Name: "deployer"}}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.CoreV1().Secrets("team-a").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db"}, StringData: map[string]string{"password": "x"}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.CoreV1().Pods("team-a").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox",
		Env: []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}}}}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.CoreV1().Services("team-a").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
		Selector: map[string]string{"app": "db"}, Ports: []corev1.ServicePort{{Port: 5432}}}}, metav1.CreateOptions{})
	mustCreate(err)

	after := run()
	as := after.statuses()
	for rule, sub := range map[string]string{
		"CIS-K8S-5.1.1":                "ClusterRoleBinding ci-admin → ClusterRole cluster-admin: ServiceAccount team-a/deployer",
		"CIS-K8S-5.1.3":                "ClusterRole everything: * in apiGroups, resources, verbs",
		"CIS-K8S-5.1.2":                "ClusterRoleBinding alice-everything → ClusterRole everything grants get/list/watch secrets to User alice",
		"CIS-K8S-5.1.8":                "User alice",
		"CIS-K8S-5.4.1":                "pod team-a/app: container app: env DB_PASSWORD from secret db",
		"CIS-K8S-5.3.2":                "namespaces without a NetworkPolicy: team-a",
		"CIS-K8S-5.2.2":                "team-a (privileged)",
		"BW-K8S-CLUSTER-PSA-LABELS":    "team-a",
		"BW-K8S-CLUSTER-SERVICE-PORTS": "service team-a/db (NodePort) exposes port 5432/TCP",
	} {
		if as[rule] != "unhealthy" || !strings.Contains(after.evidence(rule), sub) {
			t.Errorf("after %s: %s (%s), want unhealthy with %q", rule, as[rule], after.evidence(rule), sub)
		}
	}
	for rule, s := range bs {
		if s == "unhealthy" && as[rule] != "unhealthy" {
			t.Errorf("%s went from unhealthy to %s", rule, as[rule])
		}
	}
	// A user who may list nothing gets an error exit, not a verdict.
	if _, code, stderr := execBulwark(t, nil, "bench", "k8s", "--kubeconfig", c.Kubeconfig(t, c.User, ""), "--cache-dir", cache, "-f", "json"); code != 1 || !strings.Contains(stderr, "kube-system") {
		t.Errorf("plain user: exit %d, stderr %s", code, stderr)
	}
}
