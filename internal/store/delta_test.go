package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/ingest"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policyreport"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestStoreDelta: the cluster agent's delta messages, prepared by the
// server's ingestion and stored on both stores: running digests resolve
// to the stored image (a config digest to the image it configures) and
// the unseen ones are returned; an upsert replaces what an object runs;
// a delete removes it; a resync spread over two messages prunes, at its
// end, what it did not hold, and an end whose beginning was lost prunes
// nothing; the running-image recommendation counts the cluster's image.
func TestStoreDelta(t *testing.T) {
	cat, err := recommend.Default()
	if err != nil {
		t.Fatal(err)
	}
	const cluster = "c0ffee00-0000-4000-8000-000000000001"
	unseen := "sha256:" + strings.Repeat("2", 64)
	cfgDigest := "sha256:" + strings.Repeat("c", 64)
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		b := imageBatch(c.now(), "i1", []model.Finding{finding("CVE-2026-0001", "openssl", model.SeverityCritical)})
		b.Source = "vuln"
		b.Resources[2].Facts = map[string]string{"config_digest": cfgDigest}
		b.Assessments = []store.ResourceAssessments{{ResourceID: img, Items: []model.Assessment{{Rule: "VULN-image", Status: model.AssessUnhealthy, Severity: model.SeverityCritical}}}}
		if _, err := s.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
		obj := func(name string, running ...policyreport.RunningImage) policyreport.DeltaObject {
			return policyreport.DeltaObject{
				Resource: model.Resource{Kind: model.KindWorkload, ID: model.KubeObjectID(cluster, "shop", "Deployment", name), Name: name,
					Parent: cluster + "/shop", Labels: map[string]string{"kind": "Deployment"}, Facts: map[string]string{"images": "registry.example/" + name + ":1"}},
				Assessments: []model.Assessment{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessHealthy, Severity: model.SeverityHigh}},
				Running:     running,
			}
		}
		apply := func(d policyreport.Delta) store.IngestResult {
			t.Helper()
			c.t = c.t.Add(time.Second)
			d.SchemaVersion, d.Delta, d.ClusterID, d.Cluster = "1", policyreport.DeltaFormat, cluster, "e2e"
			body, _ := json.Marshal(d)
			p, err := ingest.Prepare(ctx, "", body, ingest.Options{Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != ingest.KindK8sDelta {
				t.Fatalf("detected as %s", p.Kind)
			}
			res, err := s.Ingest(ctx, p.Batch)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		uses := func(name string) []string {
			t.Helper()
			d, err := s.Resource(ctx, model.KubeObjectID(cluster, "shop", "Deployment", name))
			if err != nil {
				return []string{err.Error()}
			}
			slices.Sort(d.Uses)
			return d.Uses
		}
		gone := func(name string) bool {
			_, err := s.Resource(ctx, model.KubeObjectID(cluster, "shop", "Deployment", name))
			return errors.Is(err, store.ErrNotFound)
		}
		byRepo := policyreport.RunningImage{Container: "web", Image: "registry.example/app:1.0", Digest: img, Repository: "registry.example/app"}
		byConfig := policyreport.RunningImage{Container: "db", Image: "registry.example/app:1.0", Digest: cfgDigest}
		other := policyreport.RunningImage{Container: "api", Image: "registry.example/api:2", Digest: unseen, Repository: "registry.example/api"}

		apply(policyreport.Delta{Upserts: []policyreport.DeltaObject{obj("old")}})
		// A resync in two messages: web and api, then cache at its end.
		res := apply(policyreport.Delta{Resync: "r1", ResyncBegin: true, Upserts: []policyreport.DeltaObject{obj("web", byRepo), obj("api", other)}})
		if len(res.Unseen) != 1 || res.Unseen[0].Digest != unseen || res.Unseen[0].Repository != "registry.example/api" || res.Pruned {
			t.Errorf("unseen %+v pruned %v, want the api image only, nothing pruned yet", res.Unseen, res.Pruned)
		}
		if gone("old") {
			t.Error("old removed before the resync ended")
		}
		res = apply(policyreport.Delta{Resync: "r1", ResyncEnd: true, Upserts: []policyreport.DeltaObject{obj("cache", byConfig)}})
		if !res.Pruned || !gone("old") || gone("web") || gone("api") || gone("cache") {
			t.Errorf("after the resync's end: pruned %v, old gone %v, web %v api %v cache %v gone", res.Pruned, gone("old"), gone("web"), gone("api"), gone("cache"))
		}
		if got := uses("web"); !slices.Equal(got, []string{"registry.example/web:1", img}) {
			t.Errorf("web runs %v", got)
		}
		// A config digest is the image it configures.
		if got := uses("cache"); !slices.Equal(got, []string{"registry.example/cache:1", img}) {
			t.Errorf("cache runs %v", got)
		}
		// The image runs in the cluster: the running-image recommendation is unhealthy for it.
		if _, err := s.RefreshPosture(ctx, cat, c.now(), false); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, s, store.RecFilter{}); got["REC-RUNNING-IMAGE-VULNS"]["unhealthy"] != 1 {
			t.Errorf("REC-RUNNING-IMAGE-VULNS %v, want 1 unhealthy", got["REC-RUNNING-IMAGE-VULNS"])
		}
		// An upsert replaces what the object runs; a delete removes it.
		res = apply(policyreport.Delta{Upserts: []policyreport.DeltaObject{obj("web", other)}, Deletes: []string{model.KubeObjectID(cluster, "shop", "Deployment", "api")}})
		if res.Deleted != 1 || !gone("api") {
			t.Errorf("deleted %d, api gone %v", res.Deleted, gone("api"))
		}
		if got := uses("web"); !slices.Equal(got, []string{"registry.example/web:1", unseen}) {
			t.Errorf("web runs %v after its image changed", got)
		}
		// The same message again changes nothing.
		again := apply(policyreport.Delta{Upserts: []policyreport.DeltaObject{obj("web", other)}, Deletes: []string{model.KubeObjectID(cluster, "shop", "Deployment", "api")}})
		if again.Deleted != 0 || !slices.Equal(uses("web"), []string{"registry.example/web:1", unseen}) {
			t.Errorf("replayed: deleted %d, web runs %v", again.Deleted, uses("web"))
		}
		// A resync end whose start was lost (dropped from a full outbox) prunes nothing.
		res = apply(policyreport.Delta{Resync: "r2-lost-start", ResyncEnd: true})
		if res.Pruned || gone("web") || gone("cache") {
			t.Errorf("an end without its start pruned: %v web %v cache %v", res.Pruned, gone("web"), gone("cache"))
		}
	})
}

// TestPrepareDeltaRefusals: a delta that is not the server's to store is
// refused whole.
func TestPrepareDeltaRefusals(t *testing.T) {
	good := `{"schema_version":"1","delta":"k8s","cluster_id":"c1","upserts":[{"resource":{"kind":"workload","id":"c1/ns/Pod/p","parent":"c1/ns"},"assessments":[]`
	for name, body := range map[string]string{
		"other cluster":              `{"schema_version":"1","delta":"k8s","cluster_id":"c1","upserts":[{"resource":{"kind":"workload","id":"c2/ns/Pod/p"},"assessments":[]}]}`,
		"delete outside":             `{"schema_version":"1","delta":"k8s","cluster_id":"c1","deletes":["c2/ns/Pod/p"]}`,
		"no cluster":                 `{"schema_version":"1","delta":"k8s","upserts":[]}`,
		"bad format":                 `{"schema_version":"1","delta":"k9","cluster_id":"c1"}`,
		"bad digest":                 good + `,"running":[{"container":"c","image":"x","digest":"sha256:abc"}]}]}`,
		"bad repository":             good + `,"running":[{"container":"c","image":"x","digest":"sha256:` + strings.Repeat("a", 64) + `","repository":"Bad Repo"}]}]}`,
		"end without id":             `{"schema_version":"1","delta":"k8s","cluster_id":"c1","resync_end":true}`,
		"wrong schema":               `{"schema_version":"2","delta":"k8s","cluster_id":"c1"}`,
		"manifest source":            `{"schema_version":"1","delta":"k8s","cluster_id":"manifests"}`,
		"workload under the cluster": `{"schema_version":"1","delta":"k8s","cluster_id":"c1","upserts":[{"resource":{"kind":"workload","id":"c1/ns/Pod/p","parent":"c1"},"assessments":[]}]}`,
	} {
		if _, err := ingest.Prepare(context.Background(), "", []byte(body), ingest.Options{}); !errors.Is(err, ingest.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	// A node's parent is the cluster itself (no namespace made up for it).
	p, err := ingest.Prepare(context.Background(), "", []byte(`{"schema_version":"1","delta":"k8s","cluster_id":"c1","upserts":[{"resource":{"kind":"node","id":"c1/n1","parent":"c1"},"assessments":[]}]}`), ingest.Options{})
	if err != nil || len(p.Batch.Resources) != 2 {
		t.Errorf("a node under its cluster: %v %+v", err, p)
	}
}

// TestStoreNodeFacts: two agents describe a node (the cluster agent from
// the API, the node agent from the host): each one's facts are kept; a
// resync's prune leaves the node alone, an explicit delete removes it.
func TestStoreNodeFacts(t *testing.T) {
	const cluster = "c0ffee00-0000-4000-8000-000000000002"
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		node := cluster + "/n1"
		put := func(facts map[string]string, extra func(*store.Batch)) {
			t.Helper()
			b := &store.Batch{Kind: "k8s-delta", Subject: cluster, At: c.now(), Source: "k8s-policy",
				Resources: []model.Resource{{Kind: model.KindCluster, ID: cluster, Name: "c"}, {Kind: model.KindNode, ID: node, Name: "n1", Parent: cluster, Facts: facts}}}
			if extra != nil {
				extra(b)
			}
			if _, err := s.Ingest(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		put(map[string]string{"kubelet_version": "v1.33.2", "ready": "true"}, nil)
		put(map[string]string{"kernel": "6.1.0", "os": "Debian GNU/Linux 12 (bookworm)"}, nil)
		put(map[string]string{"kubelet_version": "v1.33.2", "ready": "false"}, nil)
		r, err := s.Resource(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		if r.Facts["ready"] != "false" || r.Facts["kernel"] != "6.1.0" || r.Facts["kubelet_version"] != "v1.33.2" {
			t.Errorf("facts %v: want both agents' kept, the newest ready", r.Facts)
		}
		// A resync that did not carry the node does not prune it.
		c.t = c.t.Add(time.Minute)
		put(nil, func(b *store.Batch) { b.Resources = b.Resources[:1]; b.PruneUnder = cluster })
		if _, err := s.Resource(ctx, node); err != nil {
			t.Errorf("the node pruned: %v", err)
		}
		put(nil, func(b *store.Batch) { b.Resources = b.Resources[:1]; b.Deletes = []string{node} })
		if _, err := s.Resource(ctx, node); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the deleted node: %v", err)
		}
	})
}
