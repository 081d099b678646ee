package store

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestBackfillAliases: a store migrated from before vuln_aliases gets the
// aliases of the advisories it already holds.
func TestBackfillAliases(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "", t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := model.Finding{ID: "CVE-2026-0007", Aliases: []string{"GHSA-xxxx-yyyy-zzzz"}, Severity: model.SeverityHigh, Status: model.StatusFixed,
		Package: model.Package{Name: "p", Version: "1"}, InstalledVersion: "1", FixedVersion: "2"}
	if _, err := s.Ingest(ctx, &Batch{Kind: "image", Subject: "sha256:aa", ContentHash: "h", Matched: true, Findings: []model.Finding{f},
		Resources: []model.Resource{{Kind: model.KindImage, ID: "sha256:aa"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM vuln_aliases`); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.ListVulnerabilities(ctx, VulnQuery{Q: "GHSA-xxxx-yyyy-zzzz"}); l.Match != "none" {
		t.Fatalf("before the backfill: %+v", l)
	}
	if err := s.backfillAliases(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := s.ListVulnerabilities(ctx, VulnQuery{Q: "GHSA-xxxx-yyyy-zzzz"})
	if err != nil || l.Match != "id" || len(l.Items) != 1 || l.Items[0].ID != "CVE-2026-0007" {
		t.Fatalf("after the backfill: %+v, %v", l, err)
	}
}
