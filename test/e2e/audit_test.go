package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// auditReport is the part of `audit k8s --format json` the test reads
// (docs/schema.md, "Kubernetes policy report").
type auditReport struct {
	SchemaVersion string    `json:"schema_version"`
	Tool          string    `json:"tool"`
	GeneratedAt   time.Time `json:"generated_at"`
	Cluster       string    `json:"cluster"`
	ClusterID     string    `json:"cluster_id"`
	Policies      []struct {
		ID   string `json:"id"`
		Mode string `json:"mode"`
	} `json:"policies"`
	Results []struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"api_version"`
		Namespace  string `json:"namespace"`
		Name       string `json:"name"`
		Excluded   string `json:"excluded"`
		Violations []struct {
			PolicyID string `json:"policy_id"`
			Mode     string `json:"mode"`
		} `json:"violations"`
		Resource struct {
			ID     string            `json:"id"`
			Kind   string            `json:"kind"`
			Parent string            `json:"parent"`
			Labels map[string]string `json:"labels"`
			Facts  map[string]string `json:"facts"`
		} `json:"resource"`
		Assessments []struct {
			Rule   string `json:"rule"`
			Status string `json:"status"`
		} `json:"assessments"`
	} `json:"results"`
	Summary struct {
		Objects  int `json:"objects"`
		Excluded int `json:"excluded"`
		Enforce  int `json:"enforce"`
	} `json:"summary"`
	LoadErrors []string `json:"load_errors"`
}

// byRef maps "namespace/Kind/name" to the sorted, distinct violated policy
// ids ("excluded" for an excluded object).
func (r auditReport) byRef() map[string][]string {
	out := map[string][]string{}
	for _, res := range r.Results {
		ids := []string{}
		for _, v := range res.Violations {
			if !slices.Contains(ids, v.PolicyID) {
				ids = append(ids, v.PolicyID)
			}
		}
		if res.Excluded != "" {
			ids = []string{"excluded"}
		}
		sort.Strings(ids)
		out[res.Namespace+"/"+res.Kind+"/"+res.Name] = ids
	}
	return out
}

// TestAuditCluster runs `bulwark audit k8s` against a live API server
// holding workloads of every kind, some owned by others as controllers
// would leave them (no controller runs here, so the test creates them).
func TestAuditCluster(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{})
	ctx := context.Background()
	cs := c.AdminClient
	c.CreateNamespace(t, "shop", nil)
	c.CreateNamespace(t, "other", nil)
	if _, err := cs.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("creating %s: %v", what, err)
		}
	}
	ownedBy := func(kind, apiVersion string, m metav1.Object) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: m.GetName(), UID: m.GetUID(), Controller: ptr(true)}}
	}

	priv, err := cs.CoreV1().Pods("shop").Create(ctx, privilegedPod("priv"), metav1.CreateOptions{})
	must("pod shop/priv", err)
	web, err := cs.AppsV1().Deployments("shop").Create(ctx, compliantDeployment("web"), metav1.CreateOptions{})
	must("deployment shop/web", err)
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", OwnerReferences: ownedBy("Deployment", "apps/v1", web)},
		Spec: appsv1.ReplicaSetSpec{Selector: web.Spec.Selector, Template: web.Spec.Template}}
	rs, err = cs.AppsV1().ReplicaSets("shop").Create(ctx, rs, metav1.CreateOptions{})
	must("replicaset shop/web-5d8f", err)
	owned := compliantPod("web-5d8f-x2k4")
	owned.OwnerReferences = ownedBy("ReplicaSet", "apps/v1", rs)
	_, err = cs.CoreV1().Pods("shop").Create(ctx, owned, metav1.CreateOptions{})
	must("pod shop/web-5d8f-x2k4", err)
	privTmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "standalone"}}, Spec: privilegedPod("").Spec}
	_, err = cs.AppsV1().ReplicaSets("shop").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "standalone"},
		Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: privTmpl.Labels}, Template: privTmpl}}, metav1.CreateOptions{})
	must("replicaset shop/standalone", err)
	agent := compliantPodSpec()
	agent.HostNetwork = true
	agentLabels := map[string]string{"app": "agent"}
	_, err = cs.AppsV1().DaemonSets("shop").Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: agentLabels}, Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: agentLabels}, Spec: agent}}}, metav1.CreateOptions{})
	must("daemonset shop/agent", err)
	jobSpec := compliantPodSpec()
	jobSpec.RestartPolicy = corev1.RestartPolicyNever
	cj, err := cs.BatchV1().CronJobs("shop").Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.CronJobSpec{
		Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: jobSpec}}}}}, metav1.CreateOptions{})
	must("cronjob shop/nightly", err)
	_, err = cs.BatchV1().Jobs("shop").Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly-29000000", OwnerReferences: ownedBy("CronJob", "batch/v1", cj)},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: jobSpec}}}, metav1.CreateOptions{})
	must("job shop/nightly-29000000", err)
	_, err = cs.CoreV1().Services("shop").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "public"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
	must("service shop/public", err)
	pt := networkingv1.PathTypePrefix
	_, err = cs.NetworkingV1().Ingresses("shop").Create(ctx, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "site"}, Spec: networkingv1.IngressSpec{
		Rules: []networkingv1.IngressRule{{Host: "shop.example", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "public", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}}}, metav1.CreateOptions{})
	must("ingress shop/site", err)

	debug := compliantPod("debug")
	debug.Spec.HostPID = true
	debug, err = cs.CoreV1().Pods("other").Create(ctx, debug, metav1.CreateOptions{})
	must("pod other/debug", err)
	const many = 7 // more than one page of --page-size 3
	for i := range many {
		_, err = cs.CoreV1().Pods("other").Create(ctx, compliantPod("p"+itoa(i)), metav1.CreateOptions{})
		must("pod other/p"+itoa(i), err)
	}
	_, err = cs.CoreV1().Pods("kube-system").Create(ctx, privilegedPod("sys"), metav1.CreateOptions{})
	must("pod kube-system/sys", err)

	admin := c.Kubeconfig(t, c.Admin, "other")
	audit := func(t *testing.T, wantExit int, args ...string) auditReport {
		t.Helper()
		out, code, stderr := execBulwark(t, nil, append([]string{"audit", "k8s", "--format", "json"}, args...)...)
		if code != wantExit {
			t.Fatalf("audit k8s %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, wantExit, stderr)
		}
		var rep auditReport
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("decoding the report: %v\n%s", err, out)
		}
		return rep
	}
	// listRequests runs fn and returns the list requests bulwark made
	// meanwhile, from the API server's audit log (blocking mode: each
	// request is logged before its response).
	listRequests := func(t *testing.T, fn func()) []auditLogEvent {
		t.Helper()
		from := fileSize(t, c.AuditLogPath)
		fn()
		var out []auditLogEvent
		for _, e := range readAuditLogFrom(t, c.AuditLogPath, from) {
			if e.Verb == "list" && strings.HasPrefix(e.UserAgent, "bulwark-audit") {
				out = append(out, e)
			}
		}
		return out
	}

	t.Run("all namespaces", func(t *testing.T) {
		rep := audit(t, 0, "--kubeconfig", admin, "--all-namespaces")
		if rep.Cluster != "e2e" || len(rep.LoadErrors) > 0 {
			t.Errorf("cluster %q, load errors %q", rep.Cluster, rep.LoadErrors)
		}
		got := rep.byRef()
		// Exactly these objects of the test's namespaces: owned ReplicaSets,
		// Pods and Jobs are reported through their controllers.
		want := map[string][]string{
			"shop/Pod/priv":              {"BW-PSS-PRIVILEGED"},
			"shop/Deployment/web":        {},
			"shop/ReplicaSet/standalone": {"BW-PSS-PRIVILEGED"},
			"shop/DaemonSet/agent":       {"BW-PSS-HOST-NAMESPACES"},
			"shop/CronJob/nightly":       {},
			"shop/Service/public":        {"BW-K8S-SERVICE-TYPE"},
			"shop/Ingress/site":          {"BW-K8S-INGRESS-TLS"},
			"other/Pod/debug":            {"BW-PSS-HOST-NAMESPACES"},
			"kube-system/Pod/sys":        {"excluded"},
		}
		for i := range many {
			want["other/Pod/p"+itoa(i)] = []string{}
		}
		for ref, ids := range got {
			ns := strings.SplitN(ref, "/", 2)[0]
			if ns != "shop" && ns != "other" && ref != "kube-system/Pod/sys" {
				continue
			}
			w, ok := want[ref]
			if !ok {
				t.Errorf("unexpected object %s reported (violations %v)", ref, ids)
				continue
			}
			for _, id := range w {
				if !slices.Contains(ids, id) {
					t.Errorf("%s: violations %v, want %s among them", ref, ids, id)
				}
			}
			if len(w) == 0 && len(ids) > 0 {
				t.Errorf("%s: violations %v, want none (a compliant object)", ref, ids)
			}
		}
		for ref := range want {
			if _, ok := got[ref]; !ok {
				t.Errorf("%s not reported", ref)
			}
		}
		checkReportShape(t, rep, "e2e")
		// The cluster is its kube-system namespace's UID, whatever the
		// kubeconfig calls it.
		ks, err := cs.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		must("namespace kube-system", err)
		if rep.ClusterID != string(ks.UID) {
			t.Errorf("cluster_id %q, want kube-system's UID %q", rep.ClusterID, ks.UID)
		}
		// The uid fact is the API server's ("" here: any non-empty one;
		// excluded objects carry theirs too).
		u := rep.ClusterID
		uids := map[string]string{
			u + "/shop/Pod/priv":        string(priv.UID),
			u + "/shop/Deployment/web":  string(web.UID),
			u + "/other/Pod/debug":      string(debug.UID),
			u + "/kube-system/Pod/sys":  "",
			u + "/shop/Service/public":  "",
			u + "/shop/Ingress/site":    "",
			u + "/shop/CronJob/nightly": "",
		}
		for _, r := range rep.Results {
			want, ok := uids[r.Resource.ID]
			if !ok {
				continue
			}
			delete(uids, r.Resource.ID)
			if got := r.Resource.Facts["uid"]; got == "" || (want != "" && got != want) {
				t.Errorf("%s: uid fact %q, want the API server's %q", r.Resource.ID, got, want)
			}
		}
		if len(uids) > 0 {
			t.Errorf("not reported: %v", slices.Sorted(maps.Keys(uids)))
		}
	})

	t.Run("context namespace, paginated", func(t *testing.T) {
		var rep auditReport
		reqs := listRequests(t, func() { rep = audit(t, 0, "--kubeconfig", admin, "--page-size", "3") })
		// Every kind is listed in namespace other only, with the admin's
		// bearer token, three at a time; the 8 pods take three pages.
		kinds := map[string]bool{}
		podPages, continued := 0, 0
		for _, e := range reqs {
			if e.User.Username != kubeenv.AdminUser || e.ObjectRef == nil || e.ObjectRef.Namespace != "other" ||
				!strings.Contains(e.RequestURI, "limit=3") || e.ResponseStatus.Code != 200 {
				t.Errorf("list request %s by %q (namespace %+v, status %d): want limit=3 in namespace other as %s",
					e.RequestURI, e.User.Username, e.ObjectRef, e.ResponseStatus.Code, kubeenv.AdminUser)
				continue
			}
			kinds[e.ObjectRef.Resource] = true
			if e.ObjectRef.Resource == "pods" {
				podPages++
				if strings.Contains(e.RequestURI, "continue=") {
					continued++
				}
			}
		}
		if len(kinds) != 10 {
			t.Errorf("listed %v, want the 10 kinds of audit k8s", slices.Sorted(maps.Keys(kinds)))
		}
		if podPages != 3 || continued != 2 {
			t.Errorf("pods listed in %d requests, %d continued; want 3 pages of 3, 2 continued", podPages, continued)
		}
		got := rep.byRef()
		if len(got) != many+1 {
			t.Errorf("%d objects, want the %d pods of namespace other: %v", len(got), many+1, got)
		}
		for ref := range got {
			if !strings.HasPrefix(ref, "other/Pod/") {
				t.Errorf("%s reported for the context's namespace other", ref)
			}
		}
	})

	t.Run("exit code on enforce violations", func(t *testing.T) {
		rep := audit(t, 3, "--kubeconfig", admin, "--namespace", "shop", "--exit-code", "3")
		if rep.Summary.Enforce == 0 {
			t.Errorf("exit 3 with summary.enforce 0")
		}
		// Without --exit-code the same violations exit 0.
		audit(t, 0, "--kubeconfig", admin, "--namespace", "shop")
	})

	t.Run("namespace flag over the context's", func(t *testing.T) {
		got := audit(t, 3, "--kubeconfig", admin, "-n", "shop", "--exit-code", "3").byRef()
		if len(got) != 7 {
			t.Errorf("%d objects, want the 7 of namespace shop: %v", len(got), slices.Sorted(maps.Keys(got)))
		}
		for ref := range got {
			if !strings.HasPrefix(ref, "shop/") {
				t.Errorf("%s reported for -n shop", ref)
			}
		}
	})

	t.Run("context flag", func(t *testing.T) {
		kc := multiContextKubeconfig(t, c)
		// The current context is the "dev" cluster in namespace other.
		rep := audit(t, 0, "--kubeconfig", kc)
		if rep.Cluster != "dev" || len(rep.Results) != many+1 {
			t.Errorf("current context: cluster %q, %d results, want dev and %d", rep.Cluster, len(rep.Results), many+1)
		}
		// Both contexts reach the same cluster: one identity (kube-system's
		// UID), whatever each context calls it.
		id := rep.ClusterID
		if id == "" || id == "dev" {
			t.Errorf("current context: cluster_id %q, want kube-system's UID", id)
		}
		for _, r := range rep.Results {
			if !strings.HasPrefix(r.Resource.ID, id+"/other/") {
				t.Errorf("current context: resource %s, want under %s/other", r.Resource.ID, id)
			}
		}
		// --context prod: cluster "prod" in namespace shop.
		rep = audit(t, 0, "--kubeconfig", kc, "--context", "prod")
		if rep.Cluster != "prod" || rep.ClusterID != id || len(rep.Results) != 7 {
			t.Errorf("--context prod: cluster %q (%s), %d results, want prod (%s) and 7", rep.Cluster, rep.ClusterID, len(rep.Results), id)
		}
		for _, r := range rep.Results {
			if !strings.HasPrefix(r.Resource.ID, id+"/shop/") || r.Resource.Parent != id+"/shop" {
				t.Errorf("--context prod: resource %s (parent %s), want under %s/shop", r.Resource.ID, r.Resource.Parent, id)
			}
		}
		// --cluster-name renames for display only.
		rep = audit(t, 0, "--kubeconfig", kc, "--context", "prod", "--cluster-name", "staging")
		if rep.Cluster != "staging" || rep.ClusterID != id {
			t.Errorf("--cluster-name staging: cluster %q (%s), want staging (%s)", rep.Cluster, rep.ClusterID, id)
		}
	})

	t.Run("usage errors", func(t *testing.T) {
		kc := multiContextKubeconfig(t, c)
		for _, tc := range []struct {
			args   []string
			stderr string
		}{
			{[]string{"--kubeconfig", admin, "-A", "-n", "shop"}, "exclude each other"},
			{[]string{"--kubeconfig", kc, "--context", "nope"}, "nope"},
			{[]string{"--kubeconfig", filepath.Join(t.TempDir(), "missing")}, "missing"},
		} {
			reqs := listRequests(t, func() {
				out, code, stderr := execBulwark(t, nil, append([]string{"audit", "k8s", "--format", "json"}, tc.args...)...)
				if code != 2 || len(out) != 0 || !strings.Contains(stderr, tc.stderr) {
					t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2, no report, %q", tc.args, code, out, stderr, tc.stderr)
				}
			})
			if len(reqs) > 0 {
				t.Errorf("%q: %d list requests reached the API server before the usage error", tc.args, len(reqs))
			}
		}
	})

	t.Run("user without list rights", func(t *testing.T) {
		var rep auditReport
		reqs := listRequests(t, func() { rep = audit(t, 1, "--kubeconfig", c.Kubeconfig(t, c.User, "shop"), "--exit-code", "3") })
		if len(rep.LoadErrors) != 10 || len(rep.Results) != 0 {
			t.Fatalf("%d results, load errors %q; want none and one per kind", len(rep.Results), rep.LoadErrors)
		}
		if !strings.Contains(strings.Join(rep.LoadErrors, "\n"), "forbidden") {
			t.Errorf("load errors do not say forbidden: %q", rep.LoadErrors)
		}
		// The kubeconfig's token is what the API server authenticated.
		if len(reqs) != 10 {
			t.Errorf("%d list requests logged, want one per kind", len(reqs))
		}
		for _, e := range reqs {
			if e.User.Username != kubeenv.PlainUser || e.ResponseStatus.Code != 403 {
				t.Errorf("list %s as %q answered %d, want %s and 403", e.RequestURI, e.User.Username, e.ResponseStatus.Code, kubeenv.PlainUser)
			}
		}
	})

	t.Run("one forbidden kind", func(t *testing.T) {
		// RBAC lets the plain user list every audited kind in shop but services.
		_, err := cs.RbacV1().Roles("shop").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "audit-no-services"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "replicationcontrollers"}, Verbs: []string{"list"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"list"}},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"list"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"list"}},
		}}, metav1.CreateOptions{})
		must("role shop/audit-no-services", err)
		_, err = cs.RbacV1().RoleBindings("shop").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "audit-no-services"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "audit-no-services"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: kubeenv.PlainUser}}}, metav1.CreateOptions{})
		must("rolebinding shop/audit-no-services", err)

		// The report is written in full, then exit 1 even though the
		// --exit-code gate would fire: a partial audit is an error.
		rep := audit(t, 1, "--kubeconfig", c.Kubeconfig(t, c.User, "shop"), "--exit-code", "3")
		if len(rep.LoadErrors) != 1 || !strings.HasPrefix(rep.LoadErrors[0], "list Service: ") || !strings.Contains(rep.LoadErrors[0], "forbidden") {
			t.Errorf("load errors %q, want only Service's, forbidden", rep.LoadErrors)
		}
		got := rep.byRef()
		if len(got) != 6 || !slices.Contains(got["shop/Pod/priv"], "BW-PSS-PRIVILEGED") || got["shop/Ingress/site"] == nil {
			t.Errorf("results %v, want the 6 objects of shop other than the Service", got)
		}
		checkReportShape(t, rep, "e2e")
	})
}

// checkReportShape checks what docs/schema.md promises of every audit k8s
// JSON report: header fields, results sorted by resource id of the form
// cluster/namespace/kind/name with the uid fact, one assessment per policy
// for evaluated objects and none for excluded ones, and a summary that
// counts the results.
func checkReportShape(t *testing.T, rep auditReport, name string) {
	t.Helper()
	// Resource ids start with the cluster's identity (its kube-system UID);
	// its kubeconfig name is the display name.
	// A user who may not read kube-system gets the name as the identity
	// (and a warning), with no cluster_id.
	cluster := rep.ClusterID
	if cluster == "" {
		cluster = name
	}
	if rep.SchemaVersion != "1" || rep.Tool != "bulwark" || rep.GeneratedAt.IsZero() || rep.Cluster != name || len(rep.Policies) == 0 {
		t.Errorf("report header: schema %q tool %q generated_at %v cluster %q, %d policies",
			rep.SchemaVersion, rep.Tool, rep.GeneratedAt, rep.Cluster, len(rep.Policies))
	}
	enabled := 0
	for _, p := range rep.Policies {
		if p.Mode != "disabled" {
			enabled++
		}
	}
	excluded := 0
	for i, r := range rep.Results {
		id := fmt.Sprintf("%s/%s/%s/%s", cluster, r.Namespace, r.Kind, r.Name)
		if r.Resource.ID != id || r.Resource.Parent != cluster+"/"+r.Namespace || r.Resource.Labels["kind"] != r.Kind || r.Resource.Labels["api_version"] != r.APIVersion {
			t.Errorf("resource %+v of %s", r.Resource, id)
		}
		if r.Resource.Facts["uid"] == "" {
			t.Errorf("%s: no uid fact", id)
		}
		if i > 0 && rep.Results[i-1].Resource.ID >= id {
			t.Errorf("results not sorted by resource id: %s before %s", rep.Results[i-1].Resource.ID, id)
		}
		wantKind := strings.ToLower(r.Kind)
		if r.Kind != "Service" && r.Kind != "Ingress" {
			wantKind = "workload"
		}
		if r.Resource.Kind != wantKind {
			t.Errorf("%s: resource kind %q, want %q", id, r.Resource.Kind, wantKind)
		}
		if r.Excluded != "" {
			excluded++
			if len(r.Assessments) != 0 || len(r.Violations) != 0 {
				t.Errorf("%s excluded (%s) but has %d assessments, %d violations", id, r.Excluded, len(r.Assessments), len(r.Violations))
			}
			continue
		}
		if len(r.Assessments) != enabled {
			t.Errorf("%s: %d assessments, want one per enabled policy (%d)", id, len(r.Assessments), enabled)
		}
		for _, v := range r.Violations {
			if !slices.ContainsFunc(r.Assessments, func(a struct {
				Rule   string `json:"rule"`
				Status string `json:"status"`
			}) bool {
				return a.Rule == v.PolicyID && a.Status == "unhealthy"
			}) {
				t.Errorf("%s: violation of %s without an unhealthy assessment", id, v.PolicyID)
			}
		}
	}
	if rep.Summary.Objects != len(rep.Results) || rep.Summary.Excluded != excluded {
		t.Errorf("summary objects %d excluded %d, want %d and %d", rep.Summary.Objects, rep.Summary.Excluded, len(rep.Results), excluded)
	}
}

// multiContextKubeconfig writes a kubeconfig for the admin with two
// contexts on the same API server: "dev" (current; cluster dev, namespace
// other) and "prod" (cluster prod, namespace shop).
func multiContextKubeconfig(t *testing.T, c *kubeenv.Cluster) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for _, name := range []string{"dev", "prod"} {
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    server: %q\n    certificate-authority-data: %s\n", name, c.URL, base64.StdEncoding.EncodeToString(c.CAPEM))
	}
	fmt.Fprintf(&b, "users:\n- name: admin\n  user:\n    token: %q\n", c.Admin.BearerToken)
	b.WriteString("contexts:\n")
	b.WriteString("- name: dev\n  context: {cluster: dev, user: admin, namespace: other}\n")
	b.WriteString("- name: prod\n  context: {cluster: prod, user: admin, namespace: shop}\n")
	b.WriteString("current-context: dev\n")
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// auditLogEvent is the part of an API server audit event the test reads.
type auditLogEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	UserAgent  string `json:"userAgent"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	return fi.Size()
}

// readAuditLogFrom decodes the audit log's events from byte offset from.
func readAuditLogFrom(t *testing.T, path string, from int64) []auditLogEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		t.Fatalf("audit log: %v", err)
	}
	var out []auditLogEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e auditLogEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line %q: %v", sc.Bytes(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading audit log: %v", err)
	}
	return out
}
