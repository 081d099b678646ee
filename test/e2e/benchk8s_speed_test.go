package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkBenchK8s times a full `bench k8s` run (node checks over the live
// kube-apiserver, etcd and stand-in controller manager and scheduler, and
// every API check) against a cluster holding about 1,000 objects, and
// kube-bench on the same node when $BULWARK_KUBE_BENCH and
// $BULWARK_KUBE_BENCH_CFG are set: its targets are
// $BULWARK_KUBE_BENCH_TARGETS (default master,etcd,controlplane — its
// policies target runs kubectl per object and takes many minutes on 1,000
// objects). bench/k8s-bench.sh runs it and prints the ratio.
func BenchmarkBenchK8s(b *testing.B) {
	n := startBenchNode(b, kubeenv.Options{ExtraArgs: hardenedAPIServer(b)}, hardenedCM, hardenedSched)
	objects := fillCluster(b, n.cluster)
	b.Logf("cluster holds %d objects (pods, services, roles, role bindings, namespaces, service accounts)", objects)
	kc := n.cluster.Kubeconfig(b, n.cluster.Admin, "")
	cache := b.TempDir()
	args := []string{"bench", "k8s", "--cache-dir", cache, "--kubeconfig", kc, "--node", "--root", "/", "--proc", n.proc,
		"--targets", "master,etcd,controlplane,node,policies,cluster", "-f", "json", "-o", filepath.Join(cache, "out.json")}
	b.Run("bulwark", func(b *testing.B) {
		for b.Loop() {
			if out, err := exec.Command(bulwark.Path(b), args...).CombinedOutput(); err != nil {
				b.Fatalf("bench k8s: %v\n%s", err, out)
			}
		}
	})
	kb, cfg, targets := os.Getenv("BULWARK_KUBE_BENCH"), os.Getenv("BULWARK_KUBE_BENCH_CFG"), cmpOr(os.Getenv("BULWARK_KUBE_BENCH_TARGETS"), "master,etcd,controlplane")
	if kb == "" || cfg == "" {
		return
	}
	b.Run("kube-bench", func(b *testing.B) {
		for b.Loop() {
			cmd := exec.Command(kb, "run", "--config-dir", cfg, "--config", filepath.Join(cfg, "config.yaml"), "--benchmark", "cis-1.12",
				"--targets", targets, "--json", "--outputfile", filepath.Join(cache, "kb.json"))
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
			if out, err := cmd.CombinedOutput(); err != nil && len(out) > 0 && cmd.ProcessState.ExitCode() > 1 {
				b.Fatalf("kube-bench: %v\n%s", err, out)
			}
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fillCluster creates 10 namespaces with 60 pods, 20 services, 10 roles and
// 10 role bindings each (1,000 objects beside the namespaces and service
// accounts), 16 requests at a time.
func fillCluster(b testing.TB, c *kubeenv.Cluster) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cs := c.AdminClient
	var jobs []func() error
	for i := 0; i < 10; i++ {
		ns := fmt.Sprintf("load-%d", i)
		c.CreateNamespace(b, ns, nil)
		for j := 0; j < 60; j++ {
			name := fmt.Sprintf("pod-%d", j)
			jobs = append(jobs, func() error {
				_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}, metav1.CreateOptions{})
				return err
			})
		}
		for j := 0; j < 20; j++ {
			name := fmt.Sprintf("svc-%d", j)
			jobs = append(jobs, func() error {
				_, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
					Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
				return err
			})
		}
		for j := 0; j < 10; j++ {
			name := fmt.Sprintf("role-%d", j)
			jobs = append(jobs, func() error {
				if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}}}, metav1.CreateOptions{}); err != nil {
					return err
				}
				_, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
					RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
					Subjects: []rbacv1.Subject{{Kind: "User", Name: "user-" + name, APIGroup: "rbac.authorization.k8s.io"}}}, metav1.CreateOptions{})
				return err
			})
		}
	}
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := j(); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		b.Fatalf("filling the cluster: %v", first)
	}
	return 10 * (60 + 20 + 10 + 10 + 2)
}
