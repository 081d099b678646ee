package clusterscan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/k8smanifest"
	"github.com/bulwarkdev/bulwark/internal/policy"
)

// loadCluster reads testdata/cluster.yaml (fresh objects each call: Scan
// trims them).
func loadCluster(t *testing.T) []clusterscan.Object {
	t.Helper()
	docs, err := k8smanifest.Load(context.Background(), []string{"testdata/cluster.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var objs []clusterscan.Object
	for _, d := range docs {
		objs = append(objs, d.Object)
	}
	return objs
}

func newEngine(t *testing.T, cfg *policy.Config) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// summary maps resource id to the sorted policy ids violated ("excluded"
// when not evaluated).
func summary(items []clusterscan.Item) map[string]string {
	out := map[string]string{}
	for _, it := range items {
		if it.Result.Excluded != "" {
			out[it.Resource.ID] = "excluded"
			continue
		}
		var ids []string
		for _, v := range it.Result.Violations {
			if !slices.Contains(ids, v.PolicyID) {
				ids = append(ids, v.PolicyID)
			}
		}
		slices.Sort(ids)
		out[it.Resource.ID] = strings.Join(ids, ",")
	}
	return out
}

func TestScan(t *testing.T) {
	tests := []struct {
		name      string
		namespace string
		cfg       *policy.Config
		want      []string // resource ids, sorted
		excluded  []string
		violated  map[string]string // id -> a policy it must violate
	}{
		{
			name: "all namespaces, default config",
			want: []string{
				"c1/kube-system/DaemonSet/kube-proxy", "c1/shop/CronJob/backup", "c1/shop/Deployment/web",
				"c1/shop/Ingress/web", "c1/shop/Service/web", "c1/team-a/Pod/db-0", "c1/team-a/Pod/debug",
			},
			excluded: []string{"c1/kube-system/DaemonSet/kube-proxy"},
			violated: map[string]string{
				"c1/team-a/Pod/debug":    "BW-PSS-PRIVILEGED",
				"c1/shop/Deployment/web": "BW-K8S-IMAGE-TAG",
				"c1/shop/Ingress/web":    "BW-K8S-INGRESS-TLS",
			},
		},
		{
			name: "one namespace", namespace: "team-a",
			want: []string{"c1/team-a/Pod/db-0", "c1/team-a/Pod/debug"},
		},
		{
			name: "config includes only team-a",
			cfg:  &policy.Config{Namespaces: policy.NamespaceConfig{Include: []string{"team-a"}}},
			want: []string{
				"c1/kube-system/DaemonSet/kube-proxy", "c1/shop/CronJob/backup", "c1/shop/Deployment/web",
				"c1/shop/Ingress/web", "c1/shop/Service/web", "c1/team-a/Pod/db-0", "c1/team-a/Pod/debug",
			},
			excluded: []string{"c1/kube-system/DaemonSet/kube-proxy", "c1/shop/CronJob/backup", "c1/shop/Deployment/web", "c1/shop/Ingress/web", "c1/shop/Service/web"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := clusterscan.Scan(context.Background(), clusterscan.Options{
				Lister: clusterscan.SliceLister(loadCluster(t)), Evaluator: newEngine(t, tt.cfg),
				Cluster: "c1", Namespace: tt.namespace, Workers: 2,
			})
			if err != nil {
				t.Fatal(err)
			}
			got := summary(items)
			var ids, excluded []string
			for id, v := range got {
				ids = append(ids, id)
				if v == "excluded" {
					excluded = append(excluded, id)
				}
			}
			slices.Sort(ids)
			slices.Sort(excluded)
			if !slices.Equal(ids, tt.want) {
				t.Errorf("resources = %q\nwant        %q", ids, tt.want)
			}
			if !slices.Equal(excluded, tt.excluded) {
				t.Errorf("excluded = %q, want %q", excluded, tt.excluded)
			}
			for id, pol := range tt.violated {
				if !strings.Contains(got[id], pol) {
					t.Errorf("%s violates %q, want %s among them", id, got[id], pol)
				}
			}
			for _, it := range items {
				if it.Resource.Facts["uid"] == "" {
					t.Errorf("%s has no uid fact", it.Resource.ID)
				}
			}
		})
	}
}

// TestScanOrder: items come in listing order (Kinds), what no policy reads
// (status, managedFields) is dropped, and objects owned by a listed
// controller are left out.
func TestScanOrder(t *testing.T) {
	items, err := clusterscan.Scan(context.Background(), clusterscan.Options{
		Lister: clusterscan.SliceLister(loadCluster(t)), Evaluator: newEngine(t, nil), Cluster: "c1", Workers: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	rank := map[string]int{}
	for i, k := range clusterscan.Kinds() {
		rank[k.Kind] = i
	}
	var got []string
	last := -1
	for _, it := range items {
		got = append(got, it.Resource.ID)
		r, ok := rank[it.Result.Kind]
		if !ok || r < last {
			t.Errorf("%s out of listing order in %q", it.Resource.ID, got)
		}
		last = r
	}
	if len(items) != 7 {
		t.Errorf("%d items, want 7 (owned ReplicaSet, Pod and Job left out): %q", len(items), got)
	}
}

// TestScanPartialFailure: a kind the lister cannot list is one KindError;
// every other kind is still evaluated.
func TestScanPartialFailure(t *testing.T) {
	forbidden := errors.New(`services is forbidden: User "u" cannot list resource "services"`)
	tests := []struct {
		name    string
		failing map[string]error
		want    int // items
	}{
		{name: "one kind", failing: map[string]error{"Service": forbidden}, want: 6},
		{name: "two kinds", failing: map[string]error{"Service": forbidden, "Pod": errors.New("connection refused")}, want: 4},
		{name: "every kind", failing: allKinds(forbidden), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := clusterscan.Scan(context.Background(), clusterscan.Options{
				Lister:    failingLister{SliceLister: clusterscan.SliceLister(loadCluster(t)), fail: tt.failing},
				Evaluator: newEngine(t, nil), Cluster: "c1", Workers: 2,
			})
			if len(items) != tt.want {
				t.Errorf("%d items, want %d", len(items), tt.want)
			}
			joined, ok := err.(interface{ Unwrap() []error })
			if !ok {
				t.Fatalf("err = %v, want the joined KindErrors", err)
			}
			var kinds []string
			for _, e := range joined.Unwrap() {
				var ke *clusterscan.KindError
				if !errors.As(e, &ke) {
					t.Fatalf("error %v is not a KindError", e)
				}
				if !errors.Is(e, tt.failing[ke.Kind]) || !strings.HasPrefix(e.Error(), "list "+ke.Kind+": ") {
					t.Errorf("KindError %q does not wrap the lister's error for %s", e, ke.Kind)
				}
				kinds = append(kinds, ke.Kind)
			}
			if len(kinds) != len(tt.failing) {
				t.Errorf("kind errors for %q, want one for each of %v", kinds, tt.failing)
			}
		})
	}
}

// failingLister fails the kinds in fail with their error: the seam's own
// error value, the way RBAC or a dropped connection reach Scan.
type failingLister struct {
	clusterscan.SliceLister
	fail map[string]error
}

func (f failingLister) List(ctx context.Context, k clusterscan.Kind, ns string, fn func(clusterscan.Object) error) error {
	if err, ok := f.fail[k.Kind]; ok {
		return err
	}
	return f.SliceLister.List(ctx, k, ns, fn)
}

func allKinds(err error) map[string]error {
	m := map[string]error{}
	for _, k := range clusterscan.Kinds() {
		m[k.Kind] = err
	}
	return m
}

// TestConnect resolves the cluster name and namespace from a kubeconfig
// file the way kubectl does; nothing is contacted before listing.
func TestConnect(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, context   string
		cluster, ns     string
		wantErrContains string
	}{
		{name: "current context", cluster: "staging", ns: "team-a"},
		{name: "explicit context without namespace", context: "prod", cluster: "prod-eu", ns: "default"},
		{name: "unknown context", context: "nope", wantErrContains: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := clusterscan.Connect(clusterscan.ConnectOptions{Kubeconfig: kc, Context: tt.context})
			if tt.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContains) {
					t.Fatalf("err = %v, want one naming %q", err, tt.wantErrContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cl.Name != tt.cluster || cl.Namespace != tt.ns || cl.Lister == nil {
				t.Errorf("cluster %q namespace %q lister %v, want %q %q", cl.Name, cl.Namespace, cl.Lister, tt.cluster, tt.ns)
			}
		})
	}
	if _, err := clusterscan.Connect(clusterscan.ConnectOptions{Kubeconfig: "/nonexistent/kubeconfig"}); err == nil {
		t.Error("missing kubeconfig: no error")
	}
}

// twoContexts points at a closed port: Connect must not need the server.
const twoContexts = `apiVersion: v1
kind: Config
clusters:
- {name: staging, cluster: {server: "https://127.0.0.1:1"}}
- {name: prod-eu, cluster: {server: "https://127.0.0.1:1"}}
users:
- {name: u, user: {token: t}}
contexts:
- {name: stg, context: {cluster: staging, user: u, namespace: team-a}}
- {name: prod, context: {cluster: prod-eu, user: u}}
current-context: stg
`

// TestScanEvaluationError: an evaluator failure stops the scan with it.
func TestScanEvaluationError(t *testing.T) {
	_, err := clusterscan.Scan(context.Background(), clusterscan.Options{
		Lister: clusterscan.SliceLister(loadCluster(t)), Evaluator: failing{}, Cluster: "c1",
	})
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("err = %v, want boom", err)
	}
}

type failing struct{}

func (failing) Evaluate(context.Context, map[string]any) (policy.Result, error) {
	return policy.Result{}, errors.New("boom")
}

// TestScanPodSecurityLabels: each namespace's pod-security.kubernetes.io
// labels decide the PSS verdicts (team-a is privileged: its privileged pod
// is not reported), unless the config overrides them.
func TestScanPodSecurityLabels(t *testing.T) {
	ns := func(name string, labels map[string]any) clusterscan.Object {
		return clusterscan.Object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": labels}}
	}
	objs := append(loadCluster(t),
		ns("team-a", map[string]any{"pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "privileged"}),
		ns("shop", map[string]any{"team": "shop"}))
	tests := []struct {
		name      string
		cfg       *policy.Config
		debug     string      // the policies team-a/Pod/debug violates
		debugMode policy.Mode // the mode of its BW-PSS-PRIVILEGED violation
		namespace string
	}{
		{name: "labels", debug: ""},
		{name: "labels, one namespace (got, not listed)", namespace: "team-a", debug: ""},
		{
			name: "config override", debug: "BW-PSS-PRIVILEGED", debugMode: policy.ModeEnforce,
			cfg: &policy.Config{PodSecurity: policy.PodSecurityConfig{Namespaces: map[string]map[string]string{"team-a": {"enforce": "baseline", "enforce-version": "v1.29"}}}},
		},
		{
			name: "config ignores the labels", debug: "BW-PSS-PRIVILEGED", debugMode: policy.ModeEnforce, // the policy's default mode
			cfg: &policy.Config{PodSecurity: policy.PodSecurityConfig{Namespaces: map[string]map[string]string{"team-a": {}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = &policy.Config{}
			}
			cfg.Sets = []string{policy.SetPSSBaseline}
			items, err := clusterscan.Scan(context.Background(), clusterscan.Options{
				Lister: clusterscan.SliceLister(objs), Evaluator: newEngine(t, cfg), Cluster: "c1", Workers: 2, Namespace: tt.namespace,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if it.Resource.ID != "c1/team-a/Pod/debug" {
					continue
				}
				if got := summary([]clusterscan.Item{it})[it.Resource.ID]; got != tt.debug {
					t.Errorf("debug violates %q, want %q", got, tt.debug)
				}
				for _, v := range it.Result.Violations {
					if v.Mode != tt.debugMode {
						t.Errorf("%s mode %s, want %s", v.PolicyID, v.Mode, tt.debugMode)
					}
				}
				if (it.Result.PodSecurity != nil) != (tt.name != "config ignores the labels") {
					t.Errorf("pod_security %+v", it.Result.PodSecurity)
				}
				return
			}
			t.Fatal("no team-a/Pod/debug")
		})
	}
}
