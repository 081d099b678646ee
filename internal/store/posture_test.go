package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/recommend"
	"github.com/bulwarkdev/bulwark/internal/store"
)

func hostBatch(at time.Time, hash string, s21, s54 model.AssessmentStatus) *store.Batch {
	return &store.Batch{Kind: "docker-bench", Subject: "host-1", ContentHash: hash, At: at, Source: "cis-docker",
		Resources: []model.Resource{{Kind: model.KindDockerHost, ID: "host-1", Name: "h1"}},
		Runs:      []store.Run{{RunnerID: "host-1/c1", Image: img, RootID: "host-1"}},
		Assessments: []store.ResourceAssessments{{ResourceID: "host-1", Items: []model.Assessment{
			{Rule: "CIS-DOCKER-2.1", Status: s21, Severity: model.SeverityHigh, Evidence: []string{"icc enabled"}},
			{Rule: "CIS-DOCKER-5.4", Status: s54, Severity: model.SeverityMedium},
		}}},
	}
}

func workloadBatch(at time.Time, hash string, priv model.AssessmentStatus) *store.Batch {
	wl := model.KubeObjectID("c1", "shop", "Deployment", "web")
	return &store.Batch{Kind: "k8s-policy", Subject: "c1", ContentHash: hash, At: at, Source: "k8s-policy",
		Resources: []model.Resource{{Kind: model.KindCluster, ID: "c1", Name: "prod"}, {Kind: model.KindWorkload, ID: wl, Name: "web", Parent: "c1"}},
		Assessments: []store.ResourceAssessments{{ResourceID: wl, Items: []model.Assessment{
			{Rule: "BW-PSS-PRIVILEGED", Status: priv, Severity: model.SeverityHigh},
			{Rule: "BW-PSS-RUN-AS-NON-ROOT", Status: model.AssessHealthy, Severity: model.SeverityMedium},
		}}},
	}
}

func counts(t *testing.T, s *store.Store, f store.RecFilter) map[string]map[string]int {
	t.Helper()
	c, err := s.RecCounts(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func controlOf(t *testing.T, sc *store.Score, id string) store.ControlScore {
	t.Helper()
	for _, c := range sc.Controls {
		if c.Control == id {
			return c
		}
	}
	t.Fatalf("no control %s", id)
	return store.ControlScore{}
}

func TestStorePosture(t *testing.T) {
	cat, err := recommend.Default()
	if err != nil {
		t.Fatal(err)
	}
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		b := imageBatch(c.now(), "i1", []model.Finding{finding("CVE-2026-0001", "openssl", model.SeverityCritical)})
		b.Source = "image"
		b.Assessments = []store.ResourceAssessments{{ResourceID: img, Items: []model.Assessment{{Rule: "VULN-image", Status: model.AssessUnhealthy, Severity: model.SeverityCritical}}}}
		for _, b := range []*store.Batch{b, hostBatch(c.now(), "h1", model.AssessUnhealthy, model.AssessHealthy), workloadBatch(c.now(), "w1", model.AssessUnhealthy)} {
			if _, err := s.Ingest(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		res, err := s.RefreshPosture(ctx, cat, c.now(), false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Resources != 3 || !res.Rescored {
			t.Fatalf("refresh: %+v", res)
		}
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The image (critical finding) and the host and workload (a high
		// rule each) are unhealthy; nothing is not assessed.
		if st.UnhealthyBySeverity["critical"] != 1 || st.UnhealthyBySeverity["high"] != 2 || len(st.NotAssessed) != 0 {
			t.Errorf("stats: unhealthy by severity %v, not assessed %v", st.UnhealthyBySeverity, st.NotAssessed)
		}
		got := counts(t, s, store.RecFilter{})
		for rec, want := range map[string]map[string]int{
			"REC-IMAGE-VULNS":         {"unhealthy": 1},
			"REC-RUNNING-IMAGE-VULNS": {"unhealthy": 1}, // it runs on host-1
			"REC-DOCKER-HOST":         {"unhealthy": 1},
			"REC-DOCKER-CONTAINERS":   {"healthy": 1},
			"REC-PRIVILEGED":          {"unhealthy": 1},
			"REC-RUN-AS-ROOT":         {"healthy": 1},
		} {
			for st, n := range want {
				if got[rec][st] != n {
					t.Errorf("%s %s = %d, want %d (all: %v)", rec, st, got[rec][st], n, got)
				}
			}
		}
		// A filter groups on the fly.
		if n := counts(t, s, store.RecFilter{Namespace: "c1/shop"})["REC-PRIVILEGED"]["unhealthy"]; n != 1 {
			t.Errorf("namespace filter: %d", n)
		}
		if n := len(counts(t, s, store.RecFilter{Root: "host-9"})); n != 0 {
			t.Errorf("unknown host: %d recommendations", n)
		}
		page, err := s.RecResources(ctx, store.RecResourceQuery{Recommendation: "REC-DOCKER-HOST"})
		if err != nil || len(page.Items) != 1 || page.Items[0].Name != "h1" || len(page.Items[0].Evidence) == 0 {
			t.Fatalf("resources: %+v %v", page, err)
		}
		sc, err := s.Score(ctx, cat)
		if err != nil {
			t.Fatal(err)
		}
		// Manage access: the workload fails one of its two recommendations
		// there, so it is unhealthy in the control: 0 of 4 points.
		if m := controlOf(t, sc, "manage-access-and-permissions"); m.Unhealthy != 1 || m.Healthy != 0 || m.Points != 0 {
			t.Errorf("manage access: %+v", m)
		}
		// Nothing assessed earns nothing, not full marks.
		if n := controlOf(t, sc, "encrypt-data-in-transit"); n.Points != 0 || n.MaxPoints != 4 {
			t.Errorf("encrypt: %+v", n)
		}

		// The host is fixed: healthy, resolved, one change in its history.
		c.t = c.t.Add(time.Hour)
		if _, err := s.Ingest(ctx, hostBatch(c.now(), "h2", model.AssessHealthy, model.AssessHealthy)); err != nil {
			t.Fatal(err)
		}
		res, err = s.RefreshPosture(ctx, cat, c.now(), false)
		if err != nil || res.Resources != 2 { // the host and the image it runs
			t.Fatalf("refresh: %+v %v", res, err)
		}
		page, _ = s.RecResources(ctx, store.RecResourceQuery{Recommendation: "REC-DOCKER-HOST"})
		if it := page.Items[0]; it.Status != "healthy" || !it.ResolvedAt.Equal(c.now()) || !it.FirstSeen.Equal(c.now().Add(-time.Hour)) {
			t.Errorf("resolved host: %+v", it)
		}
		sc, _ = s.Score(ctx, cat)
		if cfg := controlOf(t, sc, "remediate-security-configurations"); cfg.Healthy != 1 || cfg.Points != 4 {
			t.Errorf("security configurations: %+v", cfg)
		}

		// An exemption of the privileged workload's namespace: exempt, with
		// its underlying verdict; out of the score's counts.
		ex := recommend.Exemption{ID: "ex-1", Recommendation: "REC-PRIVILEGED", Scope: recommend.ScopeNamespace, Value: "c1/shop",
			Reason: "legacy agent", Author: "alice", Source: "api", CreatedAt: c.now(), Expires: c.now().Add(24 * time.Hour)}
		if err := s.CreateExemption(ctx, ex); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RefreshPosture(ctx, cat, c.now(), false); err != nil {
			t.Fatal(err)
		}
		page, _ = s.RecResources(ctx, store.RecResourceQuery{Recommendation: "REC-PRIVILEGED"})
		if it := page.Items[0]; it.Status != "exempt" || it.Underlying != "unhealthy" || it.ExemptionID != "ex-1" {
			t.Errorf("exempt: %+v", it)
		}
		sc, _ = s.Score(ctx, cat)
		if m := controlOf(t, sc, "manage-access-and-permissions"); m.Unhealthy != 0 || m.Healthy != 1 || m.Points != 4 {
			t.Errorf("manage access with the exemption: %+v", m)
		}
		// The clock passes the expiry: unhealthy again.
		c.t = c.t.Add(25 * time.Hour)
		res, err = s.RefreshPosture(ctx, cat, c.now(), false)
		if err != nil || res.ExemptionsEnded != 1 {
			t.Fatalf("expiry: %+v %v", res, err)
		}
		page, _ = s.RecResources(ctx, store.RecResourceQuery{Recommendation: "REC-PRIVILEGED"})
		if it := page.Items[0]; it.Status != "unhealthy" || it.ExemptionID != "" {
			t.Errorf("after expiry: %+v", it)
		}
		var back bool
		for _, tr := range res.Transitions {
			back = back || (tr.Recommendation == "REC-PRIVILEGED" && tr.From == "exempt" && tr.To == "unhealthy")
		}
		if !back {
			t.Errorf("no transition back to unhealthy: %+v", res.Transitions)
		}
		if cur, _ := s.Exemptions(ctx, store.ExemptionQuery{}); len(cur) != 0 {
			t.Errorf("expired exemption still listed as current: %+v", cur)
		}
		if all, _ := s.Exemptions(ctx, store.ExemptionQuery{Ended: true}); len(all) != 1 {
			t.Errorf("history of exemptions: %+v", all)
		}
		hist, err := s.ScoreHistory(ctx, "", "2026-12-01")
		if err != nil || len(hist) != 2 {
			t.Fatalf("history: %+v %v", hist, err)
		}
	})
}

func TestStoreFindingHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		a, b := finding("CVE-2026-0001", "openssl", model.SeverityHigh), finding("CVE-2026-0002", "zlib", model.SeverityLow)
		if _, err := s.Ingest(ctx, imageBatch(c.now(), "x1", []model.Finding{a, b})); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Hour)
		nb := imageBatch(c.now(), "x2", []model.Finding{a, finding("CVE-2026-0003", "curl", model.SeverityCritical)})
		nb.Health.DBVersion = "db2"
		res, err := s.Ingest(ctx, nb)
		if err != nil {
			t.Fatal(err)
		}
		if res.NewFindings != 1 || res.ResolvedFindings != 1 || len(res.Fresh) != 1 || res.Fresh[0].ID != "CVE-2026-0003" {
			t.Fatalf("result: %+v", res)
		}
		var n int
		var with string
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*), MAX(resolved_with) FROM findings_resolved WHERE vuln_id = 'CVE-2026-0002'`).Scan(&n, &with); err != nil || n != 1 || with != "db2" {
			t.Fatalf("resolved history: %d %q %v", n, with, err)
		}
	})
}

// TestStoreWithLock: while one holds a named job, another (another replica
// on PostgreSQL: another connection) is told so and does not run it.
func TestStoreWithLock(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		inside := make(chan struct{})
		release := make(chan struct{})
		done := make(chan bool)
		go func() {
			ran, err := s.WithLock(ctx, "rematch", func(context.Context) error { close(inside); <-release; return nil })
			if err != nil {
				t.Error(err)
			}
			done <- ran
		}()
		<-inside
		ran, err := s.WithLock(ctx, "rematch", func(context.Context) error { t.Error("ran while held"); return nil })
		if err != nil || ran {
			t.Errorf("second holder: ran %v, %v", ran, err)
		}
		if ran, _ := s.WithLock(ctx, "other-job", func(context.Context) error { return nil }); !ran {
			t.Error("another job name is not blocked")
		}
		close(release)
		if !<-done {
			t.Error("the first holder did not run")
		}
		if ran, _ := s.WithLock(ctx, "rematch", func(context.Context) error { return nil }); !ran {
			t.Error("not released")
		}
	})
}
