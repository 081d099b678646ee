package ingest

import (
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// clusterBatch fills a batch with one cluster's objects, for the full
// policy report and the agent's deltas alike: the cluster resource first,
// each namespace an object names once, and what each workload runs by
// the references of its pod template. Every object must lie in the
// cluster, so a report cannot write another cluster's objects.
type clusterBatch struct {
	b          *store.Batch
	clusterID  string
	namespaces map[string]bool
}

func newClusterBatch(b *store.Batch, clusterID, name string) *clusterBatch {
	b.Resources = append(b.Resources, model.Resource{Kind: model.KindCluster, ID: clusterID, Name: name, Labels: map[string]string{"name": name}})
	return &clusterBatch{b: b, clusterID: clusterID, namespaces: map[string]bool{}}
}

// add checks rsc and adds it with its namespace and its pod template's
// image references.
func (c *clusterBatch) add(rsc model.Resource) error {
	if err := checkID("object", rsc.ID); err != nil {
		return err
	}
	if rsc.Kind == "" || len(rsc.Kind) > 64 {
		return invalid("object %q: no resource kind", rsc.ID)
	}
	in := c.clusterID + "/"
	if !strings.HasPrefix(rsc.ID, in) {
		return invalid("object %q is not in cluster %q", rsc.ID, c.clusterID)
	}
	// A node's parent is the cluster itself; any other object's a
	// namespace in it.
	if rsc.Parent != "" && !strings.HasPrefix(rsc.Parent, in) && (rsc.Kind != model.KindNode || rsc.Parent != c.clusterID) {
		return invalid("object %q: parent %q is not in cluster %q", rsc.ID, rsc.Parent, c.clusterID)
	}
	if rsc.Parent != "" && rsc.Parent != c.clusterID && !c.namespaces[rsc.Parent] {
		c.namespaces[rsc.Parent] = true
		ns := strings.TrimPrefix(rsc.Parent, in)
		c.b.Resources = append(c.b.Resources, model.Resource{Kind: model.KindNamespace, ID: rsc.Parent, Name: ns, Parent: c.clusterID})
	}
	c.b.Resources = append(c.b.Resources, rsc)
	if imgs := rsc.Facts["images"]; imgs != "" {
		for i, img := range strings.Split(imgs, ",") {
			if img != "" && i < 64 {
				c.b.Runs = append(c.b.Runs, store.Run{RunnerID: rsc.ID, Image: img, RootID: c.clusterID})
			}
		}
	}
	return nil
}
