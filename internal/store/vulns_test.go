package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// TestListVulnerabilities: the distinct vulnerabilities across images, with
// their counts and flags, searched by id, alias, prefix and package, and
// paged by id.
func TestListVulnerabilities(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		kev := finding("CVE-2026-0001", "openssl", model.SeverityCritical)
		kev.Aliases, kev.KnownExploited, kev.KEVDateAdded, kev.Title = []string{"GHSA-aaaa-bbbb-cccc"}, true, "2026-11-01", "openssl overflow"
		kev.EPSS = &model.EPSS{Score: 0.42, Percentile: 0.97}
		noFix := finding("CVE-2026-0002", "zlib", model.SeverityLow)
		noFix.FixedVersion, noFix.Status = "", model.StatusAffected
		other := finding("CVE-2025-9999", "openssl", model.SeverityMedium)
		two := []model.Finding{kev, noFix, other, finding("CVE-2026-0001", "libssl3", model.SeverityHigh)}
		b := imageBatch(c.now(), "h1", two)
		if _, err := s.Ingest(ctx, b); err != nil {
			t.Fatal(err)
		}
		img2 := "sha256:" + fmt.Sprintf("%064d", 2)
		b2 := &store.Batch{Kind: "image", Subject: img2, ContentHash: "h2", At: c.now(), Matched: true,
			Resources: []model.Resource{{Kind: model.KindImage, ID: img2, Name: "other:1"}}, Findings: []model.Finding{kev},
			Health: &store.Health{Verdict: model.VerdictUnhealthy, Counts: model.Counts{Critical: 1, Total: 1}}}
		if _, err := s.Ingest(ctx, b2); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListVulnerabilities(ctx, store.VulnQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Items) != 3 || all.Items[0].ID != "CVE-2025-9999" || all.Items[1].ID != "CVE-2026-0001" || all.Next != "" || all.Match != "" {
			t.Fatalf("all: %+v", all)
		}
		v := all.Items[1]
		if v.Images != 2 || v.Findings != 3 || v.Severity != "critical" || !v.KnownExploited || !v.Fixable || v.Package != "libssl3" || v.Packages != 2 ||
			v.Title != "openssl overflow" || v.KEVDateAdded != "2026-11-01" || v.EPSS == nil || v.EPSS.Score != 0.42 || len(v.Aliases) != 1 {
			t.Errorf("CVE-2026-0001: %+v", v)
		}
		if z := all.Items[2]; z.Fixable || z.Images != 1 || z.Severity != "low" || z.KnownExploited {
			t.Errorf("CVE-2026-0002: %+v", z)
		}
		for _, tc := range []struct {
			q     store.VulnQuery
			match string
			ids   []string
		}{
			{store.VulnQuery{Q: "GHSA-aaaa-bbbb-cccc"}, "id", []string{"CVE-2026-0001"}},
			{store.VulnQuery{Q: "cve-2026-0002"}, "id", []string{"CVE-2026-0002"}},
			{store.VulnQuery{Q: "cve-2026-"}, "prefix", []string{"CVE-2026-0001", "CVE-2026-0002"}},
			{store.VulnQuery{Q: "openssl"}, "package", []string{"CVE-2025-9999", "CVE-2026-0001"}},
			{store.VulnQuery{Q: "nothing-like-it"}, "none", nil},
			{store.VulnQuery{KEV: true}, "", []string{"CVE-2026-0001"}},
			{store.VulnQuery{Severity: model.SeverityMedium}, "", []string{"CVE-2025-9999", "CVE-2026-0001"}},
			{store.VulnQuery{Package: "zlib"}, "", []string{"CVE-2026-0002"}},
			{store.VulnQuery{Q: "openssl", Severity: model.SeverityCritical}, "package", []string{"CVE-2026-0001"}},
		} {
			got, err := s.ListVulnerabilities(ctx, tc.q)
			if err != nil {
				t.Fatalf("%+v: %v", tc.q, err)
			}
			var ids []string
			for _, it := range got.Items {
				ids = append(ids, it.ID)
			}
			if got.Match != tc.match || fmt.Sprint(ids) != fmt.Sprint(tc.ids) {
				t.Errorf("%+v: match %q %v, want %q %v", tc.q, got.Match, ids, tc.match, tc.ids)
			}
		}
		// A package filter counts that package's findings only.
		p, err := s.ListVulnerabilities(ctx, store.VulnQuery{Q: "openssl"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Items[1].Findings != 2 || p.Items[1].Package != "openssl" {
			t.Errorf("counts within a package: %+v", p.Items[1])
		}
		// Pages by id.
		var seen []string
		q := store.VulnQuery{List: store.List{Limit: 2}}
		for range 3 {
			pg, err := s.ListVulnerabilities(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range pg.Items {
				seen = append(seen, it.ID)
			}
			if pg.Next == "" {
				break
			}
			q.Cursor = pg.Next
		}
		if fmt.Sprint(seen) != "[CVE-2025-9999 CVE-2026-0001 CVE-2026-0002]" {
			t.Errorf("pages: %v", seen)
		}
		// A package's advisory whose findings went away is not listed.
		c.t = c.t.Add(time.Hour)
		if _, err := s.Ingest(ctx, imageBatch(c.now(), "h3", []model.Finding{kev, noFix})); err != nil {
			t.Fatal(err)
		}
		p, err = s.ListVulnerabilities(ctx, store.VulnQuery{Package: "openssl"})
		if err != nil || len(p.Items) != 1 || p.Items[0].ID != "CVE-2026-0001" {
			t.Errorf("after the package's other finding went away: %+v, %v", p, err)
		}
		if p, _ := s.ListVulnerabilities(ctx, store.VulnQuery{Q: "zlib", Package: "openssl"}); len(p.Items) != 0 {
			t.Errorf("two packages at once: %+v", p)
		}
		for _, bad := range []store.VulnQuery{{List: store.List{Cursor: "x"}}, {List: store.List{Sort: "images"}}} {
			if _, err := s.ListVulnerabilities(ctx, bad); err == nil {
				t.Errorf("%+v: no error", bad)
			}
		}
	})
}

// TestAlertCounts: alerts per day (UTC), severity and status since a day.
func TestAlertCounts(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		now := c.now() // 2026-12-01 10:00 UTC
		var as []model.Alert
		for i, d := range []struct {
			ago time.Duration
			sev model.Severity
		}{{time.Hour, model.SeverityHigh}, {2 * time.Hour, model.SeverityHigh}, {26 * time.Hour, model.SeverityLow}, {40 * 24 * time.Hour, model.SeverityCritical}} {
			as = append(as, model.Alert{ID: fmt.Sprintf("a%d", i), Type: fmt.Sprintf("T%d", i), Title: "t", Severity: d.sev, Count: 1, Status: model.AlertActive,
				Resource: model.Resource{Kind: model.KindWorkload, ID: fmt.Sprintf("w%d", i)}, FirstSeen: now.Add(-d.ago), LastSeen: now.Add(-d.ago)})
		}
		if _, err := s.Ingest(ctx, &store.Batch{Kind: "alerts", At: now, Alerts: as}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlertStatus(ctx, "a1", string(model.AlertDismissed), "ana", "expected"); err != nil {
			t.Fatal(err)
		}
		got, err := s.AlertCounts(ctx, now.AddDate(0, 0, -29))
		if err != nil {
			t.Fatal(err)
		}
		want := "[{2026-11-30 low active 1} {2026-12-01 high active 1} {2026-12-01 high dismissed 1}]"
		if fmt.Sprint(got) != want {
			t.Errorf("counts: %v, want %s", got, want)
		}
	})
}
