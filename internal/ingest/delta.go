package ingest

import (
	"strings"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// maxRunning bounds the running images of one object (a pod has at most
// a few dozen containers; a workload's pods in a rolling update twice that).
const maxRunning = 256

// prepareDelta turns the cluster agent's delta message into a batch:
// upserted objects as a policy report writes them (resources, namespaces,
// assessments, runs by reference), plus each object's running digests,
// its runs replaced; deleted objects removed; a resync recorded and, at
// its end, the cluster pruned of what it did not hold. Every message is
// applied (no content hash): the agent sends only what changed, and
// applying one twice changes nothing.
func prepareDelta(d *policyreport.Delta, o Options) (*Prepared, error) {
	if d.Delta != policyreport.DeltaFormat {
		return nil, invalid("delta: format %q is not supported (this server reads %q)", d.Delta, policyreport.DeltaFormat)
	}
	clusterID := d.ClusterID
	if err := checkID("cluster", clusterID); err != nil {
		return nil, invalid("delta: no cluster_id")
	}
	if clusterID == policyreport.ManifestCluster || strings.Contains(clusterID, "/") {
		return nil, invalid("delta: cluster_id %q is not a cluster identity", clusterID)
	}
	if len(d.Upserts)+len(d.Deletes) > o.Limits.Resources {
		return nil, invalid("delta: %d objects, more than the limit of %d", len(d.Upserts)+len(d.Deletes), o.Limits.Resources)
	}
	if len(d.Resync) > 128 || (d.ResyncEnd || d.ResyncBegin) && d.Resync == "" {
		return nil, invalid("delta: resync_begin or resync_end without a resync id, or an id over 128 characters")
	}
	name := d.Cluster
	if name == "" {
		name = clusterID
	}
	b := &store.Batch{Kind: string(KindK8sDelta), Subject: clusterID, At: o.Now(), Source: "k8s-policy",
		ResolveDigests: true, ResyncID: d.Resync, ResyncBegin: d.ResyncBegin, ResyncEnd: d.ResyncEnd}
	cb := newClusterBatch(b, clusterID, name)
	n := 0
	for _, u := range d.Upserts {
		rsc := u.Resource
		if err := cb.add(rsc); err != nil {
			return nil, err
		}
		if len(u.Running) > maxRunning {
			return nil, invalid("object %q: %d running images, more than %d", rsc.ID, len(u.Running), maxRunning)
		}
		b.ReplaceRuns = append(b.ReplaceRuns, rsc.ID)
		seen := map[string]bool{}
		for _, ri := range u.Running {
			repo, digest, ok := policyreport.ParseImageID(ri.Digest)
			if !ok || repo != "" {
				return nil, invalid("object %q: running digest %.80q is not sha256:<64 hex>", rsc.ID, ri.Digest)
			}
			if ri.Repository != "" {
				if _, _, ok := policyreport.ParseImageID(ri.Repository + "@" + digest); !ok {
					return nil, invalid("object %q: running repository %.80q is not a repository name", rsc.ID, ri.Repository)
				}
			}
			if len(ri.Image) > 1024 || strings.ContainsAny(ri.Image, "\x00\n\r,") {
				return nil, invalid("object %q: running image reference %.80q", rsc.ID, ri.Image)
			}
			if seen[digest] {
				continue
			}
			seen[digest] = true
			b.Runs = append(b.Runs, store.Run{RunnerID: rsc.ID, Image: digest, RootID: clusterID, Reference: ri.Image, Repository: ri.Repository})
		}
		n += len(u.Assessments)
		if n > o.Limits.Assessments {
			return nil, invalid("delta: more than %d assessments", o.Limits.Assessments)
		}
		b.Assessments = append(b.Assessments, store.ResourceAssessments{ResourceID: rsc.ID, Items: u.Assessments})
	}
	for _, id := range d.Deletes {
		if err := checkID("deleted object", id); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(id, clusterID+"/") {
			return nil, invalid("deleted object %q is not in cluster %q", id, clusterID)
		}
		b.Deletes = append(b.Deletes, id)
	}
	return &Prepared{Kind: KindK8sDelta, Batch: b, Target: &auth.Target{Kind: string(model.KindCluster), ID: clusterID, Name: name}}, nil
}
