package k8smanifest

import (
	"encoding/json"
	"testing"
)

// FuzzParse: Parse never panics, and every object it returns has a kind and
// apiVersion and can be encoded as JSON (what the policy engine needs).
func FuzzParse(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: x\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Pod"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, _ := Parse("fuzz", data)
		for _, d := range docs {
			if k, _ := d.Object["kind"].(string); k == "" {
				t.Fatalf("doc %s without kind", d.Source)
			}
			if _, err := json.Marshal(d.Object); err != nil {
				t.Fatalf("doc %s does not encode as JSON: %v", d.Source, err)
			}
		}
	})
}
