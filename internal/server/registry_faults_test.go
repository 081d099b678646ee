package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/registry"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRegistryFaults: a registry that answers 429, one that hangs, and an
// image over a registry's size limit each end as their own failed scan —
// unavailable after the retries, timeout, too-large at once — while a
// healthy registry's pushes are scanned meanwhile: a registry's faults slow
// its own jobs only. The two faulty registries are fakes: a real one
// cannot be made to answer 429 or to hang.
func TestRegistryFaults(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	watchDB(t, cache)
	e := startWatchServer(t, "", t.TempDir(), cache, &movableClock{})
	host := testenv.Registry(t, testenv.RegistryOptions{})
	var throttledCalls atomic.Int64
	throttled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		throttledCalls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`) //nolint:errcheck
	}))
	defer throttled.Close()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)
	for _, c := range []registry.Config{
		{Name: "healthy", URL: "http://" + host},
		{Name: "throttled", URL: throttled.URL},
		{Name: "hanging", URL: hanging.URL, Timeout: registry.Duration(time.Second)},
		{Name: "small", URL: "http://" + host, MaxImageSize: 100},
	} {
		if _, err := e.admin.AddRegistry(ctx, client.NewRegistry{Config: c}); err != nil {
			t.Fatalf("add %s: %v", c.Name, err)
		}
	}
	event := func(reg, repo, digest string) {
		t.Helper()
		body := fmt.Sprintf(`{"repository":%q,"digest":%q,"action":"push","tag":"1"}`, repo, digest)
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/registries/"+reg+"/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.ingest)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("event for %s: %v %v", reg, resp, err)
		}
		resp.Body.Close()
	}
	// The faulty registries' jobs are queued first.
	fake1, fake2 := "sha256:"+strings.Repeat("ab", 32), "sha256:"+strings.Repeat("cd", 32)
	event("throttled", "team/app", fake1)
	event("hanging", "team/app", fake2)
	base := baseLayer(t, "3.0.11-1")
	start := time.Now()
	for i := range 3 {
		d := push(t, fmt.Sprintf("%s/team/app:%d", host, i), smallImage(t, base, fmt.Sprint("app", i), "amd64"))
		event("healthy", "team/app", d)
		if it := e.waitImage(t, "healthy", d, 30*time.Second); it.Scan.State != store.ScanScanned {
			t.Errorf("healthy image %d: %+v", i, it.Scan)
		}
	}
	healthy := time.Since(start)

	big := push(t, host+"/team/big:1", smallImage(t, base, "big", "amd64"))
	event("small", "team/big", big)
	if it := e.waitImage(t, "small", big, 30*time.Second); it.Scan.State != store.ScanFailed || it.Scan.Reason != registry.ReasonTooLarge || it.Scan.Attempts != 1 {
		t.Errorf("over the size limit: %+v; want failed, too-large, one attempt (permanent)", it.Scan)
	}
	th := e.waitImage(t, "throttled", fake1, 90*time.Second)
	if th.Scan.State != store.ScanFailed || th.Scan.Reason != registry.ReasonUnavailable || th.Scan.Attempts < 2 {
		t.Errorf("429s: %+v; want failed, unavailable, retried", th.Scan)
	}
	hg := e.waitImage(t, "hanging", fake2, 90*time.Second)
	if hg.Scan.State != store.ScanFailed || hg.Scan.Reason != registry.ReasonTimeout {
		t.Errorf("hanging registry: %+v; want failed, timeout", hg.Scan)
	}
	t.Logf("healthy registry: 3 pushes scanned in %s while the others failed; the throttled one was called %d times, over %d attempts",
		healthy.Round(time.Millisecond), throttledCalls.Load(), th.Scan.Attempts)
}

// TestRegistryCredentialHelper: a registry with authentication whose
// credentials come from the server's Docker config through a credential
// helper (auth: docker) — the way ECR, GAR and ACR hand them out — is
// watched like any other; without the helper the scan fails as
// authentication, once (permanent, not retried).
func TestRegistryCredentialHelper(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	watchDB(t, cache)
	host := testenv.Registry(t, testenv.RegistryOptions{User: "ci", Password: "s3cret-pass"})
	// The credential helper protocol: `docker-credential-NAME get` reads
	// the server URL on stdin and prints the credentials.
	bin := t.TempDir()
	helper := "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread url\nprintf '{\"ServerURL\":\"%s\",\"Username\":\"ci\",\"Secret\":\"s3cret-pass\"}' \"$url\"\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-bwtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfgDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(fmt.Sprintf(`{"credHelpers":{%q:"bwtest"}}`, host)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", cfgDir)
	e := startWatchServer(t, "", t.TempDir(), cache, &movableClock{})
	for _, c := range []registry.Config{
		{Name: "helped", URL: "http://" + host, Auth: registry.AuthDocker},
		{Name: "anonymous", URL: "http://" + host},
	} {
		if _, err := e.admin.AddRegistry(ctx, client.NewRegistry{Config: c}); err != nil {
			t.Fatalf("add %s: %v", c.Name, err)
		}
	}
	pushAuth := func(ref string, img v1.Image) string {
		r, _ := name.ParseReference(ref, name.Insecure)
		if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "ci", Password: "s3cret-pass"})); err != nil {
			t.Fatalf("push %s: %v", ref, err)
		}
		dg, _ := img.Digest()
		return dg.String()
	}
	base := baseLayer(t, "3.0.11-1")
	d := pushAuth(host+"/team/app:1", smallImage(t, base, "app", "amd64"))
	d2 := pushAuth(host+"/team/app:2", smallImage(t, base, "app2", "amd64"))
	for reg, dg := range map[string]string{"helped": d, "anonymous": d2} {
		body := fmt.Sprintf(`{"repository":"team/app","digest":%q,"action":"push","tag":"1"}`, dg)
		req, _ := http.NewRequest(http.MethodPost, e.url+"/api/v1/registries/"+reg+"/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.ingest)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("event: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	if it := e.waitImage(t, "helped", d, 30*time.Second); it.Scan.State != store.ScanScanned {
		t.Errorf("through the credential helper: %+v", it.Scan)
	}
	if it := e.waitImage(t, "anonymous", d2, 30*time.Second); it.Scan.State != store.ScanFailed || it.Scan.Reason != registry.ReasonAuth || it.Scan.Attempts != 1 {
		t.Errorf("without credentials: %+v; want failed, authentication, one attempt", it.Scan)
	}
}
