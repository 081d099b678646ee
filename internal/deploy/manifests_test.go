package deploy

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/bulwarkdev/bulwark/internal/admission"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

var manifestCases = []struct {
	golden string
	o      ManifestOptions
}{
	{"manifests.yaml", ManifestOptions{Image: "ghcr.io/bulwarkdev/bulwark:v1.4.0"}},
	{"manifests-ha.yaml", ManifestOptions{Namespace: "security", Image: "registry.example/bulwark@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Replicas: 3, DatabaseSecret: "bulwark-db", TokenSecret: "enrol-token", ServerCAConfigMap: "bulwark-ca", StorageClass: "fast",
		ClusterID: "5f0c2c3e-6b1d-4c8e-9a57-2f9e1d7b0a11", NodeSensor: "proc", NodeAuditd: true, AdmissionFailurePolicy: "Ignore"}},
	{"manifests-external.yaml", ManifestOptions{Image: "ghcr.io/bulwarkdev/bulwark:v1.4.0", NoServer: true, Server: "https://bulwark.example",
		NoAdmission: true}},
}

func TestDeployManifestsGolden(t *testing.T) {
	for _, tc := range manifestCases {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := Manifests(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			testenv.Golden(t, tc.golden, []byte(got), *update)
		})
	}
}

// documents splits a stream into its objects.
func documents(t *testing.T, s string) []unstructured.Unstructured {
	t.Helper()
	var out []unstructured.Unstructured
	for _, d := range bytes.Split([]byte(s), []byte("\n---\n")) {
		var u unstructured.Unstructured
		if err := yaml.UnmarshalStrict(d, &u.Object); err != nil {
			t.Fatalf("document does not parse: %v\n%s", err, d)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Errorf("document without apiVersion, kind or name:\n%s", d)
		}
		out = append(out, u)
	}
	return out
}

// TestManifestsObjects: every object is in the namespace (or cluster
// scoped), no Secret is written, the admission objects are the admission
// generator's own, no container is privileged, and the node agent's
// capabilities are exactly those its sensor needs.
func TestDeployManifestsObjects(t *testing.T) {
	for _, tc := range manifestCases {
		t.Run(tc.golden, func(t *testing.T) {
			s, err := Manifests(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			o := tc.o.withDefaults()
			if !tc.o.NoAdmission && !strings.Contains(s, admission.Manifests(admission.ManifestOptions{Namespace: o.Namespace, Image: o.Image, FailurePolicy: o.AdmissionFailurePolicy,
				Server: o.Server, TokenSecret: o.AdmissionTokenSecret, ServerCAConfigMap: o.ServerCAConfigMap})) {
				t.Error("the admission webhook's objects are not admission.Manifests' output")
			}
			// The webhook is wired to the server: its URL, the token from a
			// mounted Secret, never on the command line.
			if !tc.o.NoAdmission && (!strings.Contains(s, "- --server="+o.Server) || !strings.Contains(s, "- --token-file=/etc/bulwark/server-token/token") ||
				!strings.Contains(s, "secretName: "+o.AdmissionTokenSecret) || strings.Contains(s, "--token=")) {
				t.Error("the admission webhook is not wired to the server with a token from a Secret")
			}
			kinds := map[string]int{}
			for _, u := range documents(t, s) {
				kinds[u.GetKind()]++
				switch u.GetKind() {
				case "Secret":
					t.Errorf("a Secret is written: %s", u.GetName())
				case "Namespace", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration":
				default:
					if u.GetNamespace() != o.Namespace {
						t.Errorf("%s %s in namespace %q, want %q", u.GetKind(), u.GetName(), u.GetNamespace(), o.Namespace)
					}
				}
				if strings.Contains(toYAML(t, u.Object), "privileged: true") {
					t.Errorf("%s %s is privileged", u.GetKind(), u.GetName())
				}
				if u.GetKind() == "DaemonSet" {
					caps, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
					add, _, _ := unstructured.NestedStringSlice(caps[0].(map[string]any), "securityContext", "capabilities", "add")
					want := []string{"DAC_READ_SEARCH", "SYS_PTRACE", "BPF", "PERFMON", "SYS_RESOURCE"}
					if o.NodeSensor == "proc" {
						want = want[:2]
					}
					if !slices.Equal(add, want) {
						t.Errorf("node agent capabilities %v, want %v", add, want)
					}
				}
			}
			want := map[string]int{"DaemonSet": 1, "NetworkPolicy": 3, "Deployment": 1, "PodDisruptionBudget": 1}
			if !tc.o.NoServer {
				want["StatefulSet"], want["NetworkPolicy"], want["PodDisruptionBudget"] = 1, want["NetworkPolicy"]+1, 2
			}
			if !tc.o.NoAdmission {
				want["Deployment"], want["NetworkPolicy"], want["PodDisruptionBudget"] = 2, want["NetworkPolicy"]+1, want["PodDisruptionBudget"]+1
			}
			for k, n := range want {
				if kinds[k] != n {
					t.Errorf("%d %s, want %d (all: %v)", kinds[k], k, n, kinds)
				}
			}
		})
	}
}

func toYAML(t *testing.T, v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClusterAgentRBAC: list and watch on what the agent informs on, get
// on kube-system; no write verb, no wildcard, no secrets.
func TestClusterAgentRBAC(t *testing.T) {
	informed := map[string]bool{"namespaces": true}
	for _, r := range clusterAgentRules() {
		for _, res := range r.Resources {
			if res == "secrets" || res == "*" || slices.Contains(r.APIGroups, "*") {
				t.Errorf("rule %+v grants too much", r)
			}
			informed[res] = true
		}
		for _, v := range r.Verbs {
			if v != "list" && v != "watch" && !(v == "get" && slices.Equal(r.ResourceNames, []string{"kube-system"})) {
				t.Errorf("rule %+v: verb %s", r, v)
			}
		}
	}
	for _, res := range []string{"nodes", "pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicationcontrollers", "services", "ingresses"} {
		if !informed[res] {
			t.Errorf("the cluster agent may not watch %s, which it informs on", res)
		}
	}
}

func TestDeployManifestsRefuseBadOptions(t *testing.T) {
	for _, tc := range []struct {
		o    ManifestOptions
		want string
	}{
		{ManifestOptions{Namespace: "Bad_NS"}, "namespace"},
		{ManifestOptions{Server: "http://bulwark.example"}, "https only"},
		{ManifestOptions{Server: "https://user:pw@bulwark.example"}, "want https://HOST"},
		{ManifestOptions{NoServer: true}, "no server URL"},
		{ManifestOptions{Replicas: 3}, "PostgreSQL"},
		{ManifestOptions{Replicas: -1}, "replicas"},
		{ManifestOptions{TokenSecret: "no/slash"}, "enrolment token Secret"},
		{ManifestOptions{Image: "bad image"}, "image"},
		{ManifestOptions{StorageSize: "lots"}, "storage size"},
		{ManifestOptions{NodeSensor: "kprobe"}, "node sensor"},
		{ManifestOptions{AdmissionFailurePolicy: "Maybe"}, "failure policy"},
	} {
		_, err := Manifests(tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.o, err, tc.want)
		}
	}
}
