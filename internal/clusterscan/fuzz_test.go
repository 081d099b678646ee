package clusterscan_test

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/clusterscan"
	"github.com/bulwarkdev/bulwark/internal/k8smanifest"
	"github.com/bulwarkdev/bulwark/internal/policy"
)

// FuzzScan: whatever objects a cluster returns (odd ownerReferences,
// metadata of the wrong type, kinds without templates), Scan evaluates the
// rest and never panics; every evaluated object has a resource id.
func FuzzScan(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a, ownerReferences: [{kind: ReplicaSet, controller: true}]}\nspec: {containers: [{name: c, image: x}]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p, ownerReferences: [7, {kind: [1], controller: yes}]}\n"))
	f.Add([]byte("apiVersion: batch/v1\nkind: Job\nmetadata: [1, 2]\nspec: {template: 3}\n---\nkind: Service\n"))
	eng, err := policy.New(context.Background(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := k8smanifest.Parse("fuzz.yaml", data)
		var objs clusterscan.SliceLister
		for _, d := range docs {
			objs = append(objs, d.Object)
		}
		items, err := clusterscan.Scan(context.Background(), clusterscan.Options{Lister: objs, Evaluator: eng, Cluster: "c", Workers: 1})
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		for _, it := range items {
			if it.Resource.ID == "" {
				t.Fatalf("item without resource id: %+v", it)
			}
		}
	})
}
