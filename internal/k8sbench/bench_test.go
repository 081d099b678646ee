package k8sbench

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bigCluster is goodCluster with about 1,000 more objects: 600 pods, 200
// services, 100 roles and 100 bindings over 10 namespaces.
func bigCluster() *Cluster {
	c := goodCluster()
	for i := 0; i < 10; i++ {
		ns := fmt.Sprintf("team-%d", i)
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		c.ServiceAccounts = append(c.ServiceAccounts, corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}})
	}
	for i := 0; i < 600; i++ {
		p := c.Pods[0].DeepCopy()
		p.Namespace, p.Name = fmt.Sprintf("team-%d", i%10), fmt.Sprintf("web-%d", i)
		c.Pods = append(c.Pods, *p)
	}
	for i := 0; i < 200; i++ {
		c.Services = append(c.Services, corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("team-%d", i%10), Name: fmt.Sprintf("svc-%d", i)},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: int32(8000 + i)}}}})
	}
	for i := 0; i < 100; i++ {
		ns := fmt.Sprintf("team-%d", i%10)
		c.Roles = append(c.Roles, rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("r-%d", i)},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "secrets"}, Verbs: []string{"get", "list", "create"}}}})
		c.RoleBindings = append(c.RoleBindings, rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("rb-%d", i)},
			RoleRef: rbacv1.RoleRef{Kind: "Role", Name: fmt.Sprintf("r-%d", i)}, Subjects: []rbacv1.Subject{{Kind: "User", Name: fmt.Sprintf("u-%d", i)}}})
	}
	return c
}

// BenchmarkRun is the evaluation of every control over a collected
// snapshot of a 1,000-object cluster (collection is measured end to end by
// bench/k8s-bench.sh against a real API server).
func BenchmarkRun(b *testing.B) {
	s := &Snapshot{Profile: Profiles["generic"], Cluster: bigCluster(), AllowedPorts: DefaultAllowedPorts,
		Node: &Node{Name: "n", Procs: map[Component]*Proc{APIServer: newProc(APIServer, 1, "pid 1", []string{"kube-apiserver", "--profiling=false"})}, Files: map[FileRole]Files{}}}
	b.ReportAllocs()
	for b.Loop() {
		Run(s, Options{}, testNow)
	}
}
