package suppress

import (
	"os"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

func FuzzParseIgnore(f *testing.F) {
	for _, p := range []string{"testdata/ignore.yaml", "testdata/trivyignore"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, p)
	}
	f.Add([]byte("ignore:\n  - id: X\n    expires: 2020-01-01T00:00:00Z\n"), "x.yml")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := parseIgnore(data, name)
		if err != nil {
			return
		}
		fs := []model.Finding{{ID: "CVE-1", Aliases: []string{"GHSA-1"}, Status: model.StatusAffected, Package: model.Package{Name: "p", PURL: "pkg:npm/p@1"}}}
		out, _ := r.Apply(fs, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		if len(out) != 1 {
			t.Fatalf("Apply changed the number of findings")
		}
		for _, e := range r.entries {
			if e.id == "" {
				t.Fatalf("entry without id accepted")
			}
		}
	})
}

func FuzzParseVEX(f *testing.F) {
	b, err := os.ReadFile("testdata/openvex.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/x@sha256%3A1"}],"status":"fixed"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := parseVEX(data, "fuzz.json")
		if err != nil {
			return
		}
		fs := []model.Finding{{ID: "CVE-1", Status: model.StatusAffected, Package: model.Package{Name: "p", PURL: "pkg:npm/p@1"}}}
		out := v.Apply(fs, model.ImageInfo{Digest: "sha256:1", Reference: "x:1"})
		if len(out) != 1 {
			t.Fatalf("Apply changed the number of findings")
		}
		if out[0].Status == model.StatusNotAffected && (out[0].Suppression == nil || out[0].Suppression.Kind != "vex") {
			t.Fatalf("suppressed without a vex suppression")
		}
	})
}
