package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/test/kubeenv"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
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
