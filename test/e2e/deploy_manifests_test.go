package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	"github.com/bulwarkdev/bulwark/test/testproc"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// TestDeployManifestsDryRun: the real kube-apiserver accepts every object
// `bulwark deploy manifests` writes, for the default install, a
// replicated one over PostgreSQL with a node agent without API access,
// and agents of a server outside the cluster: each namespace is created
// as the manifests label it, then every object is server-side applied
// with a dry run (validation, defaulting, admission; nothing kept).
// Every workload but the node agent is also admitted by Pod Security
// "restricted", and the node agent is refused by "baseline", as the
// namespace's comment says.
func TestDeployManifestsDryRun(t *testing.T) {
	c := kubeenv.Start(t, kubeenv.Options{})
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(c.Admin)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(c.Admin)
	if err != nil {
		t.Fatal(err)
	}
	resourceFor := func(u *unstructured.Unstructured) dynamic.ResourceInterface {
		t.Helper()
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: no such resource on the API server: %v", gvk, u.GetName(), err)
		}
		if m.Scope.Name() == "namespace" {
			return dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		return dyn.Resource(m.Resource)
	}
	c.CreateNamespace(t, "bulwark-restricted", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	c.CreateNamespace(t, "bulwark-baseline", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"})

	for _, tc := range []struct {
		name, namespace string
		args            []string
	}{
		{"default", "bulwark-system", nil},
		{"replicated over PostgreSQL, node agent without API access", "bulwark-ha", []string{"--replicas", "3", "--database-secret", "bulwark-db",
			"--server-ca-configmap", "bulwark-ca", "--cluster-id", "5f0c2c3e-6b1d-4c8e-9a57-2f9e1d7b0a11", "--node-sensor", "proc", "--node-auditd",
			"--storage-class", "fast", "--admission-failure-policy", "Ignore"}},
		{"server elsewhere", "bulwark-ext", []string{"--no-server", "--server", "https://bulwark.example", "--no-admission"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"deploy", "manifests", "--namespace", tc.namespace, "--image", "registry.example/bulwark:e2e"}, tc.args...)
			out := runBulwark(t, nil, nil, args...)
			var objs []*unstructured.Unstructured
			for _, doc := range splitYAML(out) {
				u := &unstructured.Unstructured{}
				if err := yaml.Unmarshal(doc, &u.Object); err != nil {
					t.Fatalf("a document does not parse: %v\n%s", err, doc)
				}
				if len(u.Object) > 0 {
					objs = append(objs, u)
				}
			}
			if len(objs) < 10 {
				t.Fatalf("%d objects", len(objs))
			}
			// The namespace for real, as labelled: Pod Security judges the
			// pods by its labels.
			if objs[0].GetKind() != "Namespace" || objs[0].GetName() != tc.namespace {
				t.Fatalf("first object %s %s, want Namespace %s", objs[0].GetKind(), objs[0].GetName(), tc.namespace)
			}
			var ns corev1.Namespace
			b, _ := json.Marshal(objs[0].Object)
			if err := json.Unmarshal(b, &ns); err != nil {
				t.Fatal(err)
			}
			if _, err := c.AdminClient.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, u := range objs {
				body, err := json.Marshal(u.Object)
				if err != nil {
					t.Fatal(err)
				}
				_, err = resourceFor(u).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
					metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "bulwark-e2e", Force: ptr(true)})
				if err != nil {
					t.Errorf("server-side apply (dry run) of %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
				kinds[u.GetKind()]++

				// Pod Security enforces on pods: a pod of each template,
				// the workloads' under "restricted", the node agent's under
				// "baseline".
				switch u.GetKind() {
				case "Deployment", "StatefulSet", "DaemonSet":
					spec, _, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
					spec["serviceAccountName"] = "default" // the namespaces' own
					// A StatefulSet's claims become volumes of its pods.
					claims, _, _ := unstructured.NestedSlice(u.Object, "spec", "volumeClaimTemplates")
					for _, cl := range claims {
						name, _, _ := unstructured.NestedString(cl.(map[string]any), "metadata", "name")
						vols, _ := spec["volumes"].([]any)
						spec["volumes"] = append(vols, map[string]any{"name": name, "persistentVolumeClaim": map[string]any{"claimName": name}})
					}
					ns := "bulwark-restricted"
					if u.GetKind() == "DaemonSet" {
						ns = "bulwark-baseline"
					}
					pod := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod",
						"metadata": map[string]any{"name": u.GetName(), "namespace": ns}, "spec": spec}}
					_, err := resourceFor(pod).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
					switch {
					case u.GetKind() == "DaemonSet" && (err == nil || !strings.Contains(err.Error(), "violates PodSecurity")):
						t.Errorf("a node agent pod under Pod Security baseline: %v, want refused", err)
					case u.GetKind() != "DaemonSet" && err != nil:
						t.Errorf("a %s %s pod under Pod Security restricted: %v", u.GetKind(), u.GetName(), err)
					}
				}
			}
			t.Logf("%d objects accepted: %v", len(objs), kinds)
		})
	}
}

// TestDeployManifestsRBAC: the service accounts, ClusterRoles and
// bindings `deploy manifests` writes, created for real, are enough and no
// more: `bulwark agent cluster` running with the cluster agent's token
// syncs every informer and its cluster reaches the server; `bulwark agent
// node` with the node agent's token finds its cluster's id and its node
// reaches the server as CLUSTER-ID/NODE; and the API server refuses both
// tokens what they were not given (secrets, writes, other namespaces).
func TestDeployManifestsRBAC(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := kubeenv.Start(t, kubeenv.Options{})
	ks, err := c.AdminClient.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := string(ks.UID)
	const ns = "bulwark-system"
	out := runBulwark(t, nil, nil, "deploy", "manifests", "--namespace", ns)
	dyn, err := dynamic.NewForConfig(c.Admin)
	if err != nil {
		t.Fatal(err)
	}
	gvr := map[string]schema.GroupVersionResource{
		"Namespace":          {Version: "v1", Resource: "namespaces"},
		"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
		"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	}
	for _, doc := range splitYAML(out) {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &u.Object); err != nil || len(u.Object) == 0 {
			continue
		}
		r, ok := gvr[u.GetKind()]
		if !ok || (u.GetKind() != "Namespace" && !strings.HasPrefix(u.GetName(), "bulwark-") || strings.HasPrefix(u.GetName(), "bulwark-admission")) {
			continue
		}
		var ri dynamic.ResourceInterface = dyn.Resource(r)
		if u.GetNamespace() != "" {
			ri = dyn.Resource(r).Namespace(u.GetNamespace())
		}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
	kubeconfigOf := func(sa string) (string, *rest.Config) {
		tr, err := c.AdminClient.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa,
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := &rest.Config{Host: c.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: c.CAPEM}}
		return c.Kubeconfig(t, cfg, ns), cfg
	}
	clusterKC, clusterCfg := kubeconfigOf("bulwark-cluster-agent")
	nodeKC, nodeCfg := kubeconfigOf("bulwark-node-agent")

	// What the tokens may not do.
	for _, tc := range []struct {
		who  string
		cfg  *rest.Config
		try  func(kubernetes.Interface) error
		what string
	}{
		{"cluster agent", clusterCfg, func(k kubernetes.Interface) error {
			_, err := k.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
			return err
		}, "list secrets"},
		{"cluster agent", clusterCfg, func(k kubernetes.Interface) error {
			_, err := k.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			return err
		}, "list configmaps"},
		{"cluster agent", clusterCfg, func(k kubernetes.Interface) error {
			return k.AppsV1().Deployments(ns).Delete(ctx, "x", metav1.DeleteOptions{})
		}, "delete a deployment"},
		{"cluster agent", clusterCfg, func(k kubernetes.Interface) error {
			_, err := k.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
			return err
		}, "get namespace default"},
		{"node agent", nodeCfg, func(k kubernetes.Interface) error {
			_, err := k.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
			return err
		}, "list pods"},
		{"node agent", nodeCfg, func(k kubernetes.Interface) error {
			_, err := k.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
			return err
		}, "list namespaces"},
	} {
		k, err := kubernetes.NewForConfig(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.try(k); !apierrors.IsForbidden(err) {
			t.Errorf("the %s may %s: %v, want forbidden", tc.who, tc.what, err)
		}
	}

	srv := startServer(t)
	base := srv.base
	token := func(args ...string) string { return srv.token(t, args...) }
	enrol := token("--name", "enrol", "--scope", "enroll", "--expires", "1h")
	read := token("--name", "reader", "--scope", "read")
	clusterAgent := testproc.Start(t, t.TempDir(), "cluster-agent", bulwark.Path(t), "--cache-dir", t.TempDir(), "agent", "cluster",
		"--kubeconfig", clusterKC, "--server", base, "--token", enrol, "--settle", "200ms", "--heartbeat", "1s")
	nodeAgent := testproc.Start(t, t.TempDir(), "node-agent", bulwark.Path(t), "--cache-dir", t.TempDir(), "agent", "node",
		"--kubeconfig", nodeKC, "--server", base, "--token", enrol, "--node-name", "e2e-node", "--root", t.TempDir(), "--sensor", "none", "--heartbeat", "1s")
	status := func(id string) int {
		req, _ := http.NewRequest("GET", base+"/api/v1/resources/"+url.PathEscape(id), nil)
		req.Header.Set("Authorization", "Bearer "+read)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		r.Body.Close()
		return r.StatusCode
	}
	for _, w := range []struct {
		what, id string
		p        *testproc.Process
	}{{"the cluster, from the cluster agent's least privilege", uid, clusterAgent}, {"the node, named by the node agent's one read", uid + "/e2e-node", nodeAgent}} {
		deadline := time.Now().Add(60 * time.Second)
		for status(w.id) != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("%s (%s): not on the server\nagent log:\n%s", w.what, w.id, w.p.Tail(30))
			}
			time.Sleep(200 * time.Millisecond)
		}
		if strings.Contains(strings.ToLower(w.p.Tail(200)), "forbidden") {
			t.Errorf("%s: the agent was refused something:\n%s", w.what, w.p.Tail(50))
		}
	}
}
