package k8sbench

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	"github.com/bulwarkdev/bulwark/internal/model"
)

func ptr[T any](v T) *T { return &v }

var defaults = map[string]string{"kubernetes.io/bootstrapping": "rbac-defaults"}

// goodCluster is a minimal cluster that meets every section 5 check and
// cluster recommendation; each test case changes one thing.
func goodCluster() *Cluster {
	restricted := map[string]string{psaEnforce: "restricted"}
	return &Cluster{
		Name: "prod", Context: "prod-admin", UID: "6f1d6d7e-kube-system", Version: "v1.36.3",
		Namespaces: []corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "default", Labels: restricted}},
			{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: restricted}},
		},
		ServiceAccounts: []corev1.ServiceAccount{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "default"}, AutomountServiceAccountToken: ptr(false)},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "default"}, AutomountServiceAccountToken: ptr(false)},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, AutomountServiceAccountToken: ptr(false)},
		},
		Pods: []corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1"},
			Spec: corev1.PodSpec{ServiceAccountName: "web",
				SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
				Containers: []corev1.Container{{Name: "web", SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}},
		}, {
			// kube-system is left out of workload checks.
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-proxy-x"},
			Spec:       corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "p", SecurityContext: &corev1.SecurityContext{Privileged: ptr(true)}}}},
		}},
		Services: []corev1.Service{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "kubernetes"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 443}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 443, Protocol: "TCP"}}}},
		},
		NetworkPolicies: []networkingv1.NetworkPolicy{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "deny"}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny"}},
		},
		ClusterRoles: []rbacv1.ClusterRole{
			{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin", Labels: defaults}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "view-pods"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}},
		},
		ClusterRoleBindings: []rbacv1.ClusterRoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Name: "cluster-admin", Labels: defaults}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "devs-view"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view-pods"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "devs"}}},
		},
		Anonymous: AnonymousProbe{Done: true, Status: 401},
		APIServer: newProc(APIServer, 0, "pod kube-system/kube-apiserver-cp-1", []string{"kube-apiserver", "--anonymous-auth=false", "--audit-policy-file=/p.yaml", "--audit-log-path=/a.log"}),
		CVEFeed:   "test feed",
	}
}

func apiStatuses(t *testing.T, s *Snapshot) map[string]Outcome {
	t.Helper()
	r := Run(s, Options{Targets: []Target{TargetPolicies, TargetCluster}}, testNow)
	out := map[string]Outcome{}
	for _, o := range r.Outcomes() {
		out[o.Control.ID] = o
	}
	return out
}

func TestAPIChecks(t *testing.T) {
	base := apiStatuses(t, &Snapshot{Profile: Profiles["generic"], Cluster: goodCluster(), AllowedPorts: DefaultAllowedPorts})
	for id, o := range base {
		if o.Status != model.AssessHealthy && o.Status != model.AssessManual {
			t.Errorf("good cluster: %s is %s: %v", id, o.Status, o.Evidence)
		}
	}
	for _, tc := range []struct {
		name string
		edit func(c *Cluster)
		want map[string]string // id → evidence substring; status unhealthy
		// also are id prefixes the change may flip besides want (a
		// cluster-admin binding grants everything the other 5.1 checks see).
		also []string
	}{
		{"wildcard cluster role bound to a user", func(c *Cluster) {
			c.ClusterRoles = append(c.ClusterRoles, rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "god"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}})
			c.ClusterRoleBindings = append(c.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "alice-god"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "god"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "alice"}}})
		}, map[string]string{
			"5.1.3": "ClusterRole god: * in apiGroups, resources, verbs", "5.1.2": "ClusterRoleBinding alice-god → ClusterRole god grants get/list/watch secrets to User alice",
			"5.1.4": "create pods", "5.1.8": "bind/escalate clusterroles", "5.1.9": "persistentvolumes", "5.1.10": "nodes/proxy", "5.1.11": "approval",
			"5.1.12": "validatingwebhookconfigurations", "5.1.13": "serviceaccounts/token",
		}, nil},
		{"cluster-admin bound to a service account", func(c *Cluster) {
			c.ClusterRoleBindings = append(c.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "ci-admin"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}, Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "ci", Name: "deployer"}}})
		}, map[string]string{"5.1.1": "ClusterRoleBinding ci-admin → ClusterRole cluster-admin: ServiceAccount ci/deployer", "5.1.8": "ServiceAccount ci/deployer"}, []string{"5.1"}},
		{"role bound to system:masters and the default SA", func(c *Cluster) {
			c.RoleBindings = append(c.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "rb"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view-pods"},
				Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:masters"}, {Kind: "ServiceAccount", Namespace: "shop", Name: "default"}}})
		}, map[string]string{"5.1.7": "RoleBinding shop/rb", "5.1.5": "binds ServiceAccount shop/default"}, nil},
		{"impersonation", func(c *Cluster) {
			c.Roles = append(c.Roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "imp"}, Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}}}})
			c.RoleBindings = append(c.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "imp"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "imp"}, Subjects: []rbacv1.Subject{{Kind: "User", Name: "bob"}}})
		}, map[string]string{"5.1.8": "impersonate serviceaccounts to User bob"}, nil},
		{"default SA mounts its token", func(c *Cluster) { c.ServiceAccounts[1].AutomountServiceAccountToken = nil },
			map[string]string{"5.1.5": "ServiceAccount shop/default: automountServiceAccountToken is not false"}, nil},
		{"privileged pod with host namespaces and secrets in env", func(c *Cluster) {
			p := &c.Pods[0]
			p.Spec.HostPID, p.Spec.HostIPC, p.Spec.HostNetwork = true, true, true
			p.Spec.AutomountServiceAccountToken = ptr(true)
			p.Spec.Volumes = []corev1.Volume{{Name: "root", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
			ctr := &p.Spec.Containers[0]
			ctr.SecurityContext.Privileged = ptr(true)
			ctr.SecurityContext.Capabilities.Add = []corev1.Capability{"NET_RAW", "SYS_ADMIN"}
			ctr.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			ctr.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "pw"}}}}
		}, map[string]string{
			"5.2.2": "pod shop/web-1: container web is privileged", "5.2.3": "hostPID", "5.2.4": "hostIPC", "5.2.5": "hostNetwork", "5.2.8": "adds NET_RAW",
			"5.2.9": "adds NET_RAW", "5.2.11": "mounts host path /", "5.2.12": "hostPort 8080", "5.4.1": "env DB_PASSWORD from secret db", "5.1.6": "automountServiceAccountToken: true",
		}, nil},
		{"root container without seccomp or escalation guard", func(c *Cluster) {
			p := &c.Pods[0]
			p.Spec.SecurityContext = nil
			p.Spec.Containers[0].SecurityContext = nil
		}, map[string]string{"5.2.6": "allowPrivilegeEscalation", "5.2.7": "may run as root", "5.6.2": "no seccomp profile", "5.6.3": "neither the pod nor container web", "5.2.9": "does not drop ALL"}, nil},
		{"namespace without labels or policies, pod in default", func(c *Cluster) {
			c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "legacy"}})
			c.Pods = append(c.Pods, corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "stray"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}})
		}, map[string]string{
			"5.3.2": "namespaces without a NetworkPolicy: legacy", "BW-K8S-CLUSTER-PSA-LABELS": "legacy", "5.2.2": "legacy (privileged)", "5.6.4": "pod default/stray",
		}, []string{"5.2", "5.6"}},
		{"no policy mechanism", func(c *Cluster) {
			for i := range c.Namespaces {
				c.Namespaces[i].Labels = nil
			}
		}, map[string]string{"5.2.1": "no namespace enforces", "5.2.5": "default (privileged), shop (privileged)"}, []string{"5.2", "BW-K8S-CLUSTER-PSA"}},
		{"anonymous access and an exposed port", func(c *Cluster) {
			c.Anonymous.Status = 403
			c.ClusterRoleBindings = append(c.ClusterRoleBindings, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "anon"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view-pods"}, Subjects: []rbacv1.Subject{{Kind: "Group", Name: "system:unauthenticated"}}})
			c.Services = append(c.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 5432, Protocol: "TCP"}}}})
		}, map[string]string{"BW-K8S-CLUSTER-ANONYMOUS": "403", "BW-K8S-CLUSTER-SERVICE-PORTS": "service shop/db (NodePort) exposes port 5432/TCP"}, nil},
		{"no audit log", func(c *Cluster) {
			c.APIServer = newProc(APIServer, 0, "pod kube-system/kube-apiserver-cp-1", []string{"kube-apiserver", "--audit-log-path="})
		},
			map[string]string{"BW-K8S-CLUSTER-AUDIT-LOG": "--audit-policy-file not set"}, nil},
		{"vulnerable version", func(c *Cluster) {
			c.Vulnerable = []VersionFinding{{ID: "CVE-2023-2727", Component: "control plane v1.27.1", Package: "k8s.io/apiserver", Fixed: "1.27.3", Severity: model.SeverityMedium}}
		}, map[string]string{"BW-K8S-CLUSTER-VERSION": "CVE-2023-2727 (medium) affects control plane v1.27.1 via k8s.io/apiserver; fixed in 1.27.3"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := goodCluster()
			tc.edit(c)
			got := apiStatuses(t, &Snapshot{Profile: Profiles["generic"], Cluster: c, AllowedPorts: DefaultAllowedPorts})
			for id, sub := range tc.want {
				o := got[id]
				if o.Status != model.AssessUnhealthy || !strings.Contains(strings.Join(o.Evidence, "\n"), sub) {
					t.Errorf("%s: %s %q, want unhealthy with %q", id, o.Status, o.Evidence, sub)
				}
			}
			// Nothing else flips: each case is one deviation.
			for id, o := range got {
				if _, expected := tc.want[id]; expected || o.Status == base[id].Status || slices.ContainsFunc(tc.also, func(p string) bool { return strings.HasPrefix(id, p) }) {
					continue
				}
				{
					t.Errorf("%s also changed: %s → %s %q", id, base[id].Status, o.Status, o.Evidence)
				}
			}
		})
	}
}

// TestMissingSources: a list the user may not do leaves the checks that
// need it not assessed, the others run.
func TestMissingSources(t *testing.T) {
	s := &Snapshot{Profile: Profiles["generic"], Cluster: goodCluster(), AllowedPorts: DefaultAllowedPorts,
		Missing: map[Source]string{SourceRBAC: "list roles: forbidden", SourceCVE: "no DB"}, Failed: map[Source]string{SourcePods: "list pods: connection reset"}}
	got := apiStatuses(t, s)
	for id, want := range map[string]model.AssessmentStatus{"5.1.3": "not-assessed", "5.2.2": "error", "5.3.2": "healthy", "BW-K8S-CLUSTER-VERSION": "not-assessed", "BW-K8S-CLUSTER-PSA-LABELS": "healthy"} {
		if got[id].Status != want {
			t.Errorf("%s: %s %q, want %s", id, got[id].Status, got[id].Evidence, want)
		}
	}
	// No API at all.
	r := Run(&Snapshot{Profile: Profiles["generic"]}, Options{Targets: []Target{TargetPolicies}}, testNow)
	if r.Summary.NotAssessed != 34 {
		t.Errorf("no API: %+v", r.Summary)
	}
}

// TestProfiles: a managed control plane's controls are the provider's.
func TestProfiles(t *testing.T) {
	n, c := &Node{Name: "n", Procs: map[Component]*Proc{}, Files: map[FileRole]Files{}}, goodCluster()
	for _, name := range []string{"eks", "gke", "aks"} {
		r := Run(&Snapshot{Profile: Profiles[name], Node: n, Cluster: c, AllowedPorts: DefaultAllowedPorts}, Options{}, testNow)
		for _, o := range r.Outcomes() {
			owned := o.Control.Target == TargetMaster || o.Control.Target == TargetEtcd || o.Control.Target == TargetControlPlane
			if owned && (o.Status != model.AssessNotApplicable || !strings.Contains(o.Evidence[0], Profiles[name].Provider)) {
				t.Errorf("%s %s: %s %q", name, o.Control.ID, o.Status, o.Evidence)
			}
			if o.Control.ID == "BW-K8S-CLUSTER-AUDIT-LOG" && o.Status != model.AssessNotAssessed {
				t.Errorf("%s audit log: %s", name, o.Status)
			}
			if o.Control.Target == TargetPolicies && o.Status == model.AssessNotApplicable {
				t.Errorf("%s %s: policies stay the customer's", name, o.Control.ID)
			}
		}
	}
}

// TestVersionCVEs checks the version matching against feed-shaped data.
func TestVersionCVEs(t *testing.T) {
	db := advisory.NewMemory()
	ctx := context.Background()
	db.PutVulnerability(ctx, advisory.Vulnerability{ID: "CVE-2023-2727", Summary: "ImagePolicyWebhook bypass", Source: "osv"})
	db.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2023-2727", Ecosystem: advisory.EcoKube, Package: "k8s.io/apiserver", Severity: model.SeverityMedium,
		Ranges: []advisory.Range{{Type: advisory.RangeSemver, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "1.24.15"}, {Introduced: "1.25.0"}, {Fixed: "1.25.11"}, {Introduced: "1.27.0"}, {Fixed: "1.27.3"}}}}})
	db.PutAffected(ctx, advisory.Affected{VulnID: "CVE-2021-25741", Ecosystem: advisory.EcoKube, Package: "k8s.io/kubelet", Severity: model.SeverityHigh,
		Ranges: []advisory.Range{{Type: advisory.RangeSemver, Events: []advisory.Event{{Introduced: "1.22.0"}, {LastAffected: "1.22.1"}}}}})
	nodes := []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.22.1"}}}}
	for _, tc := range []struct {
		version string
		want    []string
	}{
		{"v1.27.1-eks-abc", []string{"CVE-2021-25741 kubelet v1.22.1 on node w1 ", "CVE-2023-2727 control plane v1.27.1-eks-abc 1.27.3"}},
		{"v1.27.3", []string{"CVE-2021-25741 kubelet v1.22.1 on node w1 "}},
		{"v1.26.0", []string{"CVE-2021-25741 kubelet v1.22.1 on node w1 "}},
		{"v1.24.2", []string{"CVE-2021-25741 kubelet v1.22.1 on node w1 ", "CVE-2023-2727 control plane v1.24.2 1.24.15"}},
	} {
		got, err := VulnerableVersions(ctx, db, tc.version, nodes)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, f := range got {
			ids = append(ids, f.ID+" "+f.Component+" "+f.Fixed)
		}
		if strings.Join(ids, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.version, ids, tc.want)
		}
	}
}

// TestReportJSON is the documented document (docs/schema.md), golden.
func TestReportJSON(t *testing.T) {
	c := goodCluster()
	c.Vulnerable = []VersionFinding{{ID: "CVE-2023-2727", Component: "control plane v1.27.1", Package: "k8s.io/apiserver", Fixed: "1.27.3", Severity: model.SeverityMedium, Summary: "ImagePolicyWebhook bypass"}}
	r := Run(&Snapshot{Profile: Profiles["generic"], Cluster: c, AllowedPorts: DefaultAllowedPorts}, Options{Checks: []string{"5.1.1", "5.3", "BW-K8S-CLUSTER"}, Version: "test"}, testNow)
	for _, f := range []string{"json", "sarif", "junit", "table"} {
		var b bytes.Buffer
		if err := Write(&b, f, r); err != nil {
			t.Fatal(err)
		}
		if f == "json" || f == "sarif" {
			var v map[string]any
			if err := json.Unmarshal(b.Bytes(), &v); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
		}
		golden(t, "report."+f, b.String())
	}
}
