package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestStorePrune: a batch holding every object of a cluster removes the
// cluster's objects it does not hold (with their assessments and what
// they ran) and the runs it no longer records; another cluster, the
// cluster itself, its namespaces and an incomplete batch are untouched.
func TestStorePrune(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		obj := func(cluster, name string) model.Resource {
			return model.Resource{Kind: model.KindWorkload, ID: cluster + "/shop/Deployment/" + name, Name: name, Parent: cluster + "/shop", Labels: map[string]string{"kind": "Deployment"}}
		}
		batch := func(at time.Time, cluster string, prune bool, names ...string) *store.Batch {
			b := &store.Batch{Kind: "k8s-policy", Subject: cluster, ContentHash: at.String() + cluster, At: at, Source: "policy",
				Resources: []model.Resource{{Kind: model.KindCluster, ID: cluster, Name: cluster}, {Kind: model.KindNamespace, ID: cluster + "/shop", Name: "shop", Parent: cluster}}}
			for _, n := range names {
				r := obj(cluster, n)
				b.Resources = append(b.Resources, r)
				b.Runs = append(b.Runs, store.Run{RunnerID: r.ID, Image: "registry.example/" + n + ":" + at.Format("150405"), RootID: cluster})
				b.Assessments = append(b.Assessments, store.ResourceAssessments{ResourceID: r.ID, Items: []model.Assessment{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessHealthy, Severity: model.SeverityHigh}}})
			}
			if prune {
				b.PruneUnder = cluster
			}
			return b
		}
		t0 := c.t
		for _, b := range []*store.Batch{batch(t0, "c1", true, "web", "db"), batch(t0, "c2", true, "web")} {
			if _, err := s.Ingest(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		// An incomplete report (audit k8s -n) removes nothing.
		if _, err := s.Ingest(ctx, batch(t0.Add(time.Second), "c1", false, "web")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resource(ctx, "c1/shop/Deployment/db"); err != nil {
			t.Fatalf("db after an incomplete report: %v", err)
		}
		// db is deleted; web's image changed.
		if _, err := s.Ingest(ctx, batch(t0.Add(2*time.Second), "c1", true, "web")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Resource(ctx, "c1/shop/Deployment/db"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a deleted workload is still there: %v", err)
		}
		d, err := s.Resource(ctx, "c1/shop/Deployment/web")
		if err != nil || len(d.Uses) != 1 || d.Uses[0] != "registry.example/web:"+t0.Add(2*time.Second).Format("150405") {
			t.Errorf("web runs %v (%v), want only its current image", d, err)
		}
		for _, id := range []string{"c1", "c1/shop", "c2", "c2/shop/Deployment/web"} {
			if _, err := s.Resource(ctx, id); err != nil {
				t.Errorf("%s removed: %v", id, err)
			}
		}
	})
}
