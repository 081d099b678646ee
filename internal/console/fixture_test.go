package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/store"
)

// Hostile strings an image, a report or an event may carry: every page must
// show them as text.
const (
	hostileName     = `<script>alert("xss-name")</script>`
	hostileEvidence = `"><img src=x onerror=alert("xss-evidence")>`
	hostilePackage  = `pkg<script>alert("xss-pkg")</script>`
	hostileCommand  = `sh -c '<script>alert("xss-cmd")</script>'`
)

var fixedNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	s        *server.Server
	dataDir  string
	initial  string // admin's initial password
	password string // analyst's and reader's
	web, evl string // workload ids
	image    string
	alert    string
}

// newFixture opens a real server on a SQLite store and feeds it, through
// the store's ingestion, two privileged workloads (one named with a
// script), an image whose name and package hold scripts, and an alert
// whose command line does; then an analyst and a reader.
func newFixture(t testing.TB, o server.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dataDir: t.TempDir(), password: "correct horse battery staple"}
	o.DataDir, o.CacheDir = f.dataDir, t.TempDir()
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	s, err := server.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f.s = s
	b, err := os.ReadFile(filepath.Join(f.dataDir, server.InitialPasswordFile))
	if err != nil {
		t.Fatal(err)
	}
	f.initial = strings.TrimSpace(string(b))
	h, err := auth.HashPassword(f.password)
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]auth.Role{"ana": auth.RoleAnalyst, "rita": auth.RoleReader} {
		if err := s.Store.CreateUser(ctx, store.User{Name: name, Role: string(role), PasswordHash: h}); err != nil {
			t.Fatal(err)
		}
	}
	now := o.Now()
	f.web = model.KubeObjectID("c1", "shop", "Deployment", "web")
	f.evl = model.KubeObjectID("c1", "shop", "Deployment", "evil")
	priv := func(id string) store.ResourceAssessments {
		return store.ResourceAssessments{ResourceID: id, Items: []model.Assessment{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessUnhealthy, Severity: model.SeverityHigh,
			Evidence: []string{"container app: privileged", hostileEvidence}}}}
	}
	st := s.Store
	if _, err := st.Ingest(ctx, &store.Batch{Kind: "k8s-policy", Subject: "c1", At: now, Source: "k8s-policy",
		Resources: []model.Resource{{Kind: model.KindCluster, ID: "c1", Name: "c1"}, {Kind: model.KindWorkload, ID: f.web, Name: "web", Parent: "c1"},
			{Kind: model.KindWorkload, ID: f.evl, Name: hostileName, Parent: "c1", Labels: map[string]string{"team": hostileName}}},
		Assessments: []store.ResourceAssessments{priv(f.web), priv(f.evl)}}); err != nil {
		t.Fatal(err)
	}
	f.image = "sha256:" + strings.Repeat("ab", 32)
	if _, err := st.Ingest(ctx, &store.Batch{Kind: "image", Subject: f.image, At: now, ContentHash: "img1",
		Resources: []model.Resource{{Kind: model.KindImage, ID: f.image, Name: "registry.example/" + hostileName}},
		ImageRefs: []store.ImageRef{{ImageID: f.image, Repository: "registry.example/app", Tag: "1.0"}},
		Findings: []model.Finding{{ID: "CVE-2026-0001", Severity: model.SeverityHigh, Status: model.StatusFixed, Package: model.Package{Name: hostilePackage, Version: "1.0", Type: "deb"},
			InstalledVersion: "1.0", FixedVersion: "1.1"}},
		Matched: true, Health: &store.Health{Verdict: model.VerdictUnhealthy, Counts: model.Counts{High: 1, Total: 1}, DBVersion: "test"}}); err != nil {
		t.Fatal(err)
	}
	al := model.Alert{ID: "al-1", Type: "K8S_ExecIntoContainer", Title: "Exec into a container", Severity: model.SeverityHigh, Tactics: []string{"Execution"},
		Resource: model.Resource{Kind: model.KindWorkload, ID: f.web, Name: "web"}, Actor: &model.Actor{User: "mallory", Command: hostileCommand},
		FirstSeen: now.Add(-2 * time.Hour), LastSeen: now.Add(-time.Hour), Count: 1, Status: model.AlertActive,
		Evidence: []model.Evidence{{Time: now.Add(-time.Hour), Source: "k8s-audit", Summary: "exec " + hostileCommand}}}
	if _, err := st.Ingest(ctx, &store.Batch{Kind: "alerts", At: now, Alerts: []model.Alert{al}}); err != nil {
		t.Fatal(err)
	}
	page, err := st.ListAlerts(ctx, store.AlertQuery{})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("stored alerts: %+v, %v", page.Items, err)
	}
	f.alert = page.Items[0].ID
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	return f
}
