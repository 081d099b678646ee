package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/advisory"
	alertpkg "github.com/bulwarkdev/bulwark/internal/alert"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/notify"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/vulndb"
)

// TestNotifications: a new critical finding on an image that runs, a new
// alert and a newly unhealthy recommendation reach a loopback webhook
// receiver through the server's notification sinks; a low one is
// filtered out by the sink.
func TestNotifications(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	built := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := vulndb.Build(ctx, scan.DBDir(cache), func(ctx context.Context, s advisory.Sink) error {
		for id, sev := range map[string]model.Severity{"CVE-2099-1": model.SeverityCritical, "CVE-2099-2": model.SeverityLow} {
			if err := s.PutVulnerability(ctx, advisory.Vulnerability{ID: id, Source: "test", Severity: sev}); err != nil {
				return err
			}
			if err := s.PutAffected(ctx, advisory.Affected{VulnID: id, Ecosystem: "Debian:12", Package: "openssl", Source: "test",
				Ranges: []advisory.Range{{Type: advisory.RangeEcosystem, Events: []advisory.Event{{Introduced: "0"}, {Fixed: "3.0.99-1"}}}}}); err != nil {
				return err
			}
		}
		return nil
	}, built); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []notify.Event
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var e notify.Event
		if err := json.Unmarshal(b, &e); err != nil {
			t.Errorf("receiver: %v: %s", err, b)
		}
		mu.Lock()
		got = append(got, e)
		mu.Unlock()
	}))
	defer recv.Close()
	cfg, err := notify.ParseConfig([]byte("sinks:\n  - name: hook\n    type: webhook\n    url: " + recv.URL + "\n    min_severity: high\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := notify.New(cfg, notify.Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := Open(ctx, Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", CacheDir: cache, Notifier: d, PostureInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Serve(sctx) }()
	defer func() { cancel(); <-done }()
	for s.Addr() == "" {
		time.Sleep(10 * time.Millisecond)
	}
	_, tok, err := api.CreateToken(ctx, s.Store, api.TokenRequest{Name: "t", Scopes: "ingest,read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New("http://"+s.Addr(), tok, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	// The image runs on a Docker host before its scan arrives.
	if _, err := s.Store.Ingest(ctx, &store.Batch{Kind: "docker-bench", Subject: "host-1", At: time.Now(), Source: "cis-docker",
		Resources: []model.Resource{{Kind: model.KindDockerHost, ID: "host-1", Name: "h1"}},
		Runs:      []store.Run{{RunnerID: "host-1/c1", Image: digest, RootID: "host-1"}}}); err != nil {
		t.Fatal(err)
	}
	rep := model.Report{SchemaVersion: "1", Resource: model.Resource{Kind: model.KindImage, ID: digest},
		Image:    model.ImageInfo{Source: "registry", Reference: "registry.example/shop/web:1", Digest: digest},
		Distro:   &model.Distro{ID: "debian", VersionID: "12"},
		Packages: []model.Package{{Name: "openssl", Version: "3.0.11-1", Type: "deb", SourceName: "openssl", SourceVersion: "3.0.11-1"}}}
	if _, err := c.PostJSON(ctx, "image", rep); err != nil {
		t.Fatal(err)
	}
	alert := model.Alert{ID: "a-1", Type: "K8S.NODE_ReverseShell", Severity: model.SeverityHigh, Title: "Potential reverse shell", Status: model.AlertActive,
		Count: 1, FirstSeen: time.Now(), LastSeen: time.Now(), Resource: model.Resource{Kind: model.KindHost, ID: "node-1"}, Tactics: []string{"Execution"}}
	body, err := alertpkg.Marshal(alert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostReport(ctx, "alerts", body); err != nil {
		t.Fatal(err)
	}
	if err := s.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"finding CVE-2099-1": false, "alert K8S.NODE_ReverseShell": false, "recommendation REC-IMAGE-VULNS": false, "recommendation REC-RUNNING-IMAGE-VULNS": false}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		for _, e := range got {
			switch e.Kind {
			case notify.KindFinding:
				want["finding "+e.Vulnerability] = true
				if e.Vulnerability == "CVE-2099-2" {
					t.Errorf("a low finding passed the sink's min_severity: %+v", e)
				}
			case notify.KindAlert:
				want["alert "+e.Rule] = true
			case notify.KindRecommendation:
				want["recommendation "+e.Recommendation] = true
			}
		}
		n := len(got)
		mu.Unlock()
		all := true
		for _, ok := range want {
			all = all && ok
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications received: %v (%d events)", want, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
