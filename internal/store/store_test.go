package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// clock is a time the tests move.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// eachStore runs a test against SQLite and a real PostgreSQL: the same
// contract for both.
func eachStore(t *testing.T, f func(t *testing.T, s *store.Store, c *clock)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			c := &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
			dsn := ""
			if backend == "postgres" {
				dsn = testenv.Postgres(t)
			}
			s, err := store.Open(context.Background(), dsn, t.TempDir(), store.Options{Now: c.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			f(t, s, c)
		})
	}
}

func finding(id, pkg string, sev model.Severity) model.Finding {
	return model.Finding{ID: id, Severity: sev, Status: model.StatusFixed, Package: model.Package{Name: pkg, Version: "1.0", Type: "deb"},
		InstalledVersion: "1.0", FixedVersion: "1.1", Remediation: "upgrade"}
}

const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func imageBatch(at time.Time, hash string, fs []model.Finding) *store.Batch {
	var c model.Counts
	for _, f := range fs {
		c.Add(f.Severity)
		c.Total++
	}
	return &store.Batch{Kind: "image", Subject: img, ContentHash: hash, At: at,
		Resources: []model.Resource{
			{Kind: model.KindRegistry, ID: "registry.example", Name: "registry.example"},
			{Kind: model.KindRepository, ID: "registry.example/app", Name: "app", Parent: "registry.example"},
			{Kind: model.KindImage, ID: img, Name: "registry.example/app:1.0", Parent: "registry.example/app", Facts: map[string]string{"config_digest": "sha256:cfg"}},
		},
		ImageRefs: []store.ImageRef{{ImageID: img, Repository: "registry.example/app", Tag: "1.0"}},
		Inventory: &store.Inventory{ImageID: img, Hash: hash, Packages: len(fs), Data: []byte{1, 2, 3}},
		Findings:  fs, Matched: true,
		Health: &store.Health{Verdict: model.VerdictUnhealthy, Counts: c, DBVersion: "db1"},
	}
}

func TestStoreImageIngestion(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		var fs []model.Finding
		for i := range 120 {
			sev := []model.Severity{model.SeverityCritical, model.SeverityHigh, model.SeverityLow}[i%3]
			fs = append(fs, finding(fmt.Sprintf("CVE-2026-%04d", i), fmt.Sprintf("pkg%d", i%7), sev))
		}
		res, err := s.Ingest(ctx, imageBatch(c.now(), "h1", fs))
		if err != nil {
			t.Fatal(err)
		}
		if res.Duplicate || res.Findings != 120 || res.Resources != 3 {
			t.Fatalf("first ingestion = %+v", res)
		}
		// The same content again stores nothing new.
		c.t = c.t.Add(time.Hour)
		res, err = s.Ingest(ctx, imageBatch(c.now(), "h1", fs))
		if err != nil || !res.Duplicate {
			t.Fatalf("same content again = %+v, %v; want duplicate", res, err)
		}
		// Keyset pages: 3 pages of 50 cover every finding once, worst first.
		seen := map[string]bool{}
		cursor := ""
		lastRank := 6
		for pages := 0; ; pages++ {
			p, err := s.ListFindings(ctx, store.FindingQuery{Resource: img, List: store.List{Limit: 50, Cursor: cursor}})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range p.Items {
				if seen[f.ID] {
					t.Fatalf("finding %s on two pages", f.ID)
				}
				seen[f.ID] = true
				if f.Severity.Rank() > lastRank {
					t.Fatalf("findings not sorted by severity: %s after rank %d", f.Severity, lastRank)
				}
				lastRank = f.Severity.Rank()
			}
			if p.Next == "" {
				if pages != 2 {
					t.Errorf("pages = %d, want 3", pages+1)
				}
				break
			}
			cursor = p.Next
		}
		if len(seen) != 120 {
			t.Fatalf("paged findings = %d, want 120", len(seen))
		}
		// A new inventory with fewer findings resolves the rest and keeps
		// the first_seen of those that stay.
		c.t = c.t.Add(time.Hour)
		res, err = s.Ingest(ctx, imageBatch(c.now(), "h2", fs[:10]))
		if err != nil || res.Findings != 10 {
			t.Fatalf("second inventory = %+v, %v", res, err)
		}
		p, err := s.ListFindings(ctx, store.FindingQuery{Resource: img, List: store.List{Limit: 500}})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 10 {
			t.Fatalf("findings after the second inventory = %d, want 10", len(p.Items))
		}
		if got := p.Items[0].FirstSeen; !got.Equal(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)) {
			t.Errorf("first_seen = %s, want the first ingestion's time", got)
		}
		// Filters.
		p, err = s.ListFindings(ctx, store.FindingQuery{Vuln: "CVE-2026-0000"})
		if err != nil || len(p.Items) != 1 || p.Items[0].ResourceID != img {
			t.Errorf("by vulnerability = %+v, %v", p.Items, err)
		}
		rp, err := s.ListResources(ctx, store.ResourceQuery{Kind: "image", Health: "unhealthy"})
		if err != nil || len(rp.Items) != 1 || rp.Items[0].Severity != "critical" || rp.Items[0].Counts.Total != 10 {
			t.Fatalf("unhealthy images = %+v, %v", rp.Items, err)
		}
		d, err := s.Resource(ctx, img)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.References) != 1 || d.References[0].Repository != "registry.example/app" || d.Inventory == nil || d.Inventory.Packages != 10 {
			t.Errorf("image detail = %+v", d)
		}
		if _, err := s.Resource(ctx, "sha256:none"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing resource: %v, want ErrNotFound", err)
		}
		if _, err := s.ListResources(ctx, store.ResourceQuery{List: store.List{Sort: "password_hash"}}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("sort by an unindexed column: %v, want ErrBadQuery", err)
		}
		if _, err := s.ListResources(ctx, store.ResourceQuery{List: store.List{Cursor: "forged!"}}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("forged cursor: %v, want ErrBadQuery", err)
		}
	})
}

func TestStoreWhereIs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		f := finding("CVE-2026-1", "openssl", model.SeverityHigh)
		f.Title, f.References, f.Aliases = "overflow", []string{"https://example/CVE-2026-1"}, []string{"DSA-1"}
		if _, err := s.Ingest(ctx, imageBatch(c.now(), "h", []model.Finding{f})); err != nil {
			t.Fatal(err)
		}
		// The advisory's shared part (stored once) comes back with the finding.
		got, err := s.ListFindings(ctx, store.FindingQuery{Vuln: "CVE-2026-1"})
		if err != nil || len(got.Items) != 1 || got.Items[0].Title != "overflow" || len(got.Items[0].References) != 1 || got.Items[0].Package.Name != "openssl" || got.Items[0].FixedVersion != "1.1" {
			t.Errorf("finding read back = %+v, %v", got.Items, err)
		}
		// A Docker host runs the image, named by its config digest as the
		// engine names it.
		host := &store.Batch{Kind: "docker-bench", Subject: "ENGINE-1", ContentHash: "x", At: c.now(), Source: "cis-docker",
			Resources: []model.Resource{{Kind: model.KindDockerHost, ID: "ENGINE-1", Name: "node-a"},
				{Kind: model.KindContainer, ID: "ENGINE-1/c1", Name: "web", Parent: "ENGINE-1"}},
			Runs: []store.Run{{RunnerID: "ENGINE-1/c1", Image: "sha256:cfg", RootID: "ENGINE-1"}},
			Assessments: []store.ResourceAssessments{{ResourceID: "ENGINE-1", Items: []model.Assessment{
				{Rule: "CIS-DOCKER-5.4", Status: model.AssessUnhealthy, Severity: model.SeverityHigh, Evidence: []string{"container web: privileged"}},
				{Rule: "CIS-DOCKER-2.1", Status: model.AssessHealthy, Severity: model.SeverityHigh}}}}}
		if _, err := s.Ingest(ctx, host); err != nil {
			t.Fatal(err)
		}
		// A workload runs it by tag.
		wl := &store.Batch{Kind: "k8s-policy", Subject: "uid-1", ContentHash: "y", At: c.now(),
			Resources: []model.Resource{{Kind: model.KindCluster, ID: "uid-1", Name: "prod"}, {Kind: model.KindWorkload, ID: "uid-1/ns/Deployment/web", Name: "web", Parent: "uid-1/ns"}},
			Runs:      []store.Run{{RunnerID: "uid-1/ns/Deployment/web", Image: "registry.example/app:1.0", RootID: "uid-1"}}}
		if _, err := s.Ingest(ctx, wl); err != nil {
			t.Fatal(err)
		}
		w, err := s.WhereIs(ctx, "CVE-2026-1", 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Images) != 1 || w.Images[0].ID != img || len(w.Images[0].References) != 1 {
			t.Errorf("images = %+v", w.Images)
		}
		if len(w.Runners) != 2 || len(w.Roots) != 2 || w.Roots[0] != "ENGINE-1" || w.Roots[1] != "uid-1" {
			t.Errorf("runners = %+v roots = %v, want the container and the workload on ENGINE-1 and uid-1", w.Runners, w.Roots)
		}
		// The host's health comes from its assessments.
		d, err := s.Resource(ctx, "ENGINE-1")
		if err != nil {
			t.Fatal(err)
		}
		if d.Health != "unhealthy" || d.Counts.High != 1 || d.Children["container"] != 1 {
			t.Errorf("host = %+v", d)
		}
		// A later report without the failing control makes it healthy and
		// drops the stale assessment.
		host.ContentHash = "z"
		host.At = c.now().Add(time.Minute)
		host.Assessments[0].Items = host.Assessments[0].Items[1:]
		if _, err := s.Ingest(ctx, host); err != nil {
			t.Fatal(err)
		}
		d, _ = s.Resource(ctx, "ENGINE-1")
		as, _ := s.ListAssessments(ctx, store.AssessmentQuery{Resource: "ENGINE-1"})
		if d.Health != "healthy" || len(as.Items) != 1 {
			t.Errorf("after the fix: health %s, %d assessments", d.Health, len(as.Items))
		}
	})
}

func TestStoreAlerts(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		a := model.Alert{ID: "a1", Type: "K8S_PrivilegedContainer", Title: "t", Severity: model.SeverityHigh, Count: 3, Tactics: []string{"Privilege Escalation"},
			Resource: model.Resource{Kind: model.KindWorkload, ID: "uid/ns/Pod/p"}, FirstSeen: c.now(), LastSeen: c.now().Add(time.Minute)}
		if _, err := s.Ingest(ctx, &store.Batch{Kind: "alerts", Alerts: []model.Alert{a}, Resources: []model.Resource{a.Resource}}); err != nil {
			t.Fatal(err)
		}
		old := a
		old.Count = 1
		res, err := s.Ingest(ctx, &store.Batch{Kind: "alerts", Alerts: []model.Alert{old}})
		if err != nil || res.Alerts != 0 {
			t.Fatalf("older document = %+v, %v; want no change", res, err)
		}
		got, err := s.Alert(ctx, "a1")
		if err != nil || got.Count != 3 || got.Status != model.AlertActive {
			t.Fatalf("alert = %+v, %v", got, err)
		}
		p, err := s.ListAlerts(ctx, store.AlertQuery{Tactic: "Privilege Escalation", Severity: model.SeverityMedium})
		if err != nil || len(p.Items) != 1 {
			t.Errorf("by tactic = %+v, %v", p.Items, err)
		}
		p, _ = s.ListAlerts(ctx, store.AlertQuery{Since: c.now().Add(time.Hour)})
		if len(p.Items) != 0 {
			t.Errorf("since later = %d alerts", len(p.Items))
		}
	})
}

// TestStoreAtomic: a batch that fails half-way stores nothing.
func TestStoreAtomic(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		b := imageBatch(c.now(), "h", []model.Finding{finding("CVE-1", "a", model.SeverityLow)})
		b.Resources = append(b.Resources, model.Resource{Kind: model.KindImage}) // no id: fails after the first rows
		if _, err := s.Ingest(ctx, b); err == nil {
			t.Fatal("a batch with a resource without id was stored")
		}
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Findings != 0 || len(st.Resources) != 0 {
			t.Errorf("after a failed batch: %+v, want an empty store", st)
		}
		if _, err := s.Ingest(ctx, imageBatch(c.now(), "h", nil)); err != nil {
			t.Errorf("the same report, now valid, was refused: %v", err)
		}
	})
}

func TestStoreAccess(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		if err := s.CreateUser(ctx, store.User{Name: "ann", Role: "reader", PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateUser(ctx, store.User{Name: "ann", Role: "admin", PasswordHash: "h"}); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second ann: %v, want ErrConflict", err)
		}
		var until time.Time
		for range 5 {
			var err error
			until, err = s.LoginFailed(ctx, "ann", 5, func(int) time.Duration { return time.Minute })
			if err != nil {
				t.Fatal(err)
			}
		}
		if !until.Equal(c.now().Add(time.Minute)) {
			t.Errorf("locked until %s after 5 failures", until)
		}
		u, _ := s.User(ctx, "ann")
		if u.FailedLogins != 5 || !u.LockedUntil.Equal(until) {
			t.Errorf("user = %+v", u)
		}
		se := store.Session{IDHash: "s1", User: "ann", CSRF: "c", CreatedAt: c.now(), ExpiresAt: c.now().Add(time.Hour)}
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Session(ctx, "s1"); err != nil {
			t.Errorf("live session: %v", err)
		}
		c.t = c.t.Add(2 * time.Hour)
		if _, err := s.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("expired session: %v, want ErrNotFound", err)
		}
		tok := store.Token{ID: "abc", Name: "ci", SecretHash: "x", Scopes: []string{"ingest"}, Binding: "cluster/prod", CreatedAt: c.now()}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.PinToken(ctx, "abc", "uid-1"); got != "uid-1" {
			t.Errorf("pin = %q", got)
		}
		if got, _ := s.PinToken(ctx, "abc", "uid-2"); got != "uid-1" {
			t.Errorf("second pin = %q, want the first kept", got)
		}
		if err := s.RevokeToken(ctx, "abc"); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeToken(ctx, "abc"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking twice: %v", err)
		}
		got, _ := s.Token(ctx, "abc")
		if got.RevokedAt.IsZero() || got.BoundID != "uid-1" {
			t.Errorf("token = %+v", got)
		}
	})
}

func TestStoreBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := store.Open(ctx, "", dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(ctx, imageBatch(time.Now(), "h", []model.Finding{finding("CVE-1", "a", model.SeverityLow)})); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, out); err == nil {
		t.Error("a backup over an existing file was written")
	}
	// The backup opens as a store with the finding in it.
	restored := filepath.Join(t.TempDir(), "r")
	if err := copyFile(out, filepath.Join(restored, store.FileName)); err != nil {
		t.Fatal(err)
	}
	r, err := store.Open(ctx, "", restored, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st, err := r.Stats(ctx)
	if err != nil || st.Findings != 1 {
		t.Errorf("restored store: %+v, %v", st, err)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// TestStoreDismissedRepeats: a repeat of a dismissed alert (a new aggregate
// of the same type on the same resource) adds to its count and last-seen
// without reopening it; its later documents add only what is new; a repeat
// of higher severity reopens it, recorded in its history.
func TestStoreDismissedRepeats(t *testing.T) {
	eachStore(t, func(t *testing.T, s *store.Store, c *clock) {
		ctx := context.Background()
		res := model.Resource{Kind: model.KindWorkload, ID: "uid/ns/Pod/p"}
		mk := func(id string, count int, sev model.Severity, at time.Time) model.Alert {
			return model.Alert{ID: id, Type: "K8S_ExecIntoPod", Title: "t", Severity: sev, Count: count, Resource: res, FirstSeen: at, LastSeen: at}
		}
		put := func(a model.Alert) {
			t.Helper()
			if _, err := s.Ingest(ctx, &store.Batch{Kind: "alerts", Alerts: []model.Alert{a}, Resources: []model.Resource{res}}); err != nil {
				t.Fatal(err)
			}
		}
		t0 := c.now()
		put(mk("a1", 2, model.SeverityMedium, t0))
		if _, err := s.SetAlertStatus(ctx, "a1", "dismissed", "user:anna", "expected"); err != nil {
			t.Fatal(err)
		}
		put(mk("a2", 3, model.SeverityMedium, t0.Add(time.Hour)))
		put(mk("a2", 5, model.SeverityMedium, t0.Add(2*time.Hour))) // the window's closing document
		a1, err := s.Alert(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		if a1.Status != "dismissed" || a1.Count != 7 || !a1.LastSeen.Equal(t0.Add(2*time.Hour)) {
			t.Errorf("after repeats: status %s count %d last %s, want dismissed, 2+5, the repeat's last-seen", a1.Status, a1.Count, a1.LastSeen)
		}
		if _, err := s.Alert(ctx, "a2"); err == nil {
			t.Error("the repeat became an alert of its own")
		}
		put(mk("a3", 1, model.SeverityHigh, t0.Add(3*time.Hour)))
		a1, _ = s.Alert(ctx, "a1")
		h, _ := s.AlertEvents(ctx, "a1")
		if a1.Status != "active" || a1.Count != 8 || len(h) != 2 || h[1].Actor != "bulwark" || h[1].Previous != "dismissed" {
			t.Errorf("after a higher-severity repeat: %s count %d history %+v", a1.Status, a1.Count, h)
		}
		// An active alert's repeats are new alerts, as the runtime sends them.
		put(mk("a4", 1, model.SeverityHigh, t0.Add(4*time.Hour)))
		if _, err := s.Alert(ctx, "a4"); err != nil {
			t.Errorf("a repeat of an active alert: %v, want an alert of its own", err)
		}
	})
}
