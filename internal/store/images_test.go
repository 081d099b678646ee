package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestImageVerdicts: by digest (manifest or config), by repository and
// tag, unknown ones, counts of fixable and exempt findings.
func TestImageVerdicts(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		exempt := finding("CVE-2026-3", "zlib", model.SeverityHigh)
		exempt.Status = model.StatusExempt
		noFix := finding("CVE-2026-2", "openssl", model.SeverityHigh)
		noFix.Status, noFix.FixedVersion = model.StatusAffected, ""
		b := imageBatch(c.t, "h1", []model.Finding{finding("CVE-2026-1", "bash", model.SeverityCritical), noFix})
		b.Findings = append(b.Findings, exempt)
		if _, err := s.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
		vs, err := s.ImageVerdicts(ctx, []store.ImageLookup{
			{Image: "by-digest", Digest: img},
			{Image: "by-config", Digest: "sha256:cfg"},
			{Image: "by-tag", Repository: "registry.example/app", Tag: "1.0"},
			{Image: "other-tag", Repository: "registry.example/app", Tag: "2.0"},
			{Image: "unknown-digest", Digest: "sha256:2222222222222222222222222222222222222222222222222222222222222222", Repository: "registry.example/app"},
			{Image: "bad", Err: "could not parse"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := model.ImageVerdict{Known: true, Digest: img, Verdict: model.VerdictUnhealthy, WorstSeverity: model.SeverityCritical,
			Counts: model.Counts{Critical: 1, High: 1, Total: 2}, Fixable: model.Counts{Critical: 1, Total: 1}, Exempt: model.Counts{High: 1, Total: 1}, DBVersion: "db1"}
		for i, by := range []string{"digest", "digest", "reference"} {
			w := want
			w.Image, w.ResolvedBy = vs[i].Image, by
			if vs[i] != w {
				t.Errorf("%s = %+v\nwant %+v", vs[i].Image, vs[i], w)
			}
		}
		for _, v := range vs[3:] {
			if v.Known || v.Digest != "" {
				t.Errorf("%s known: %+v", v.Image, v)
			}
		}
		if vs[5].Error != "could not parse" {
			t.Errorf("bad reference: %+v", vs[5])
		}
		many := make([]store.ImageLookup, store.MaxImageLookups+1)
		if _, err := s.ImageVerdicts(ctx, many); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("%d lookups: err %v, want ErrBadQuery", len(many), err)
		}
	})
}

// TestConfigDocs: version 0 until set, versions grow, If-Match, the same
// body again changes nothing.
func TestConfigDocs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		d, err := s.ConfigDoc(ctx, "policies")
		if err != nil || d.Version != 0 || d.Body != "" {
			t.Fatalf("unset doc = %+v, %v", d, err)
		}
		d, changed, err := s.PutConfigDoc(ctx, "policies", "sets: [defender]\n", "ada", 0)
		if err != nil || !changed || d.Version != 1 || d.UpdatedBy != "ada" || !d.UpdatedAt.Equal(c.t) {
			t.Fatalf("first put = %+v, %v, %v", d, changed, err)
		}
		if _, _, err := s.PutConfigDoc(ctx, "policies", "sets: [pss-baseline]\n", "bob", 0); !errors.Is(err, store.ErrVersionMismatch) {
			t.Errorf("put against version 0 = %v, want ErrVersionMismatch", err)
		}
		d, changed, err = s.PutConfigDoc(ctx, "policies", "sets: [defender]\n", "bob", -1)
		if err != nil || changed || d.Version != 1 || d.UpdatedBy != "ada" {
			t.Errorf("same body again = %+v, %v, %v", d, changed, err)
		}
		d, changed, err = s.PutConfigDoc(ctx, "policies", "sets: [pss-baseline]\n", "bob", 1)
		if err != nil || !changed || d.Version != 2 {
			t.Errorf("second put = %+v, %v, %v", d, changed, err)
		}
		got, _ := s.ConfigDoc(ctx, "policies")
		if got.Version != 2 || got.Body != "sets: [pss-baseline]\n" || got.UpdatedBy != "bob" {
			t.Errorf("read back = %+v", got)
		}
		if other, _ := s.ConfigDoc(ctx, "runtime-exceptions"); other.Version != 0 {
			t.Errorf("another document = %+v", other)
		}
	})
}
