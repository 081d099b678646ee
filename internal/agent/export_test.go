package agent

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
)

// TestCluster drives the cluster agent's state over client-go caches the
// test fills, in place of informers (cluster_test.go; the informers
// themselves run against a real kube-apiserver in test/e2e).
type TestCluster struct{ cs *clusterState }

// NewTestCluster is the cluster agent's state with one empty cache per kind.
func NewTestCluster(c *Conn, o ClusterOptions, clusterID string) *TestCluster {
	if o.Chunk <= 0 {
		o.Chunk = 500
	}
	return testCluster(newClusterState(c, o, clusterID))
}

// StartTestCluster is NewTestCluster with the engine RunCluster makes:
// from the server's policy config (followed until ctx ends) and fed with
// its image verdicts.
func StartTestCluster(ctx context.Context, c *Conn, o ClusterOptions, clusterID string) (*TestCluster, error) {
	if o.Chunk <= 0 {
		o.Chunk = 500
	}
	cs, err := startClusterState(ctx, c, o, clusterID)
	if err != nil {
		return nil, err
	}
	return testCluster(cs), nil
}

// RefreshVerdicts is the cluster agent's periodic verdict refresh.
func (t *TestCluster) RefreshVerdicts(ctx context.Context) { t.cs.verdicts.refresh(ctx) }

func testCluster(cs *clusterState) *TestCluster {
	for _, k := range append([]clusterscan.Kind{{Kind: "Namespace"}, {Kind: nodeKind}}, clusterscan.Kinds()...) {
		ix := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{controllerIndex: func(obj any) ([]string, error) {
			if k, ok := controllerOf(obj); ok {
				return []string{k}, nil
			}
			return nil, nil
		}})
		cs.lister.stores[k.Kind], cs.lister.indexers[k.Kind] = ix, ix
	}
	return &TestCluster{cs}
}

// Put adds or replaces an object, slimmed as the informers' transform does.
func (t *TestCluster) Put(kind string, obj map[string]any) {
	u := &unstructured.Unstructured{Object: obj}
	o, _ := slim(kind)(u.DeepCopy())
	t.cs.lister.stores[kind].Add(o) //nolint:errcheck
	t.cs.markDirty(kind, o.(*unstructured.Unstructured))
}

// Remove deletes an object.
func (t *TestCluster) Remove(kind string, obj map[string]any) {
	u := &unstructured.Unstructured{Object: obj}
	t.cs.lister.stores[kind].Delete(u) //nolint:errcheck
	t.cs.markDirty(kind, u)
}

// Resync sends a full resync; Changes the changed objects.
func (t *TestCluster) Resync(ctx context.Context)  { t.cs.fullResync(ctx, "test") }
func (t *TestCluster) Changes(ctx context.Context) { t.cs.sendChanges(ctx) }

// Stats are the agent's counters.
func (t *TestCluster) Stats() ClusterStats { return t.cs.stats() }
