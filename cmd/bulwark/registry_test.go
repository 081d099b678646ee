package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/store"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// TestRegistryAdd: `bulwark registry add` with --password-stdin connects
// a registry that needs authentication; the password is sealed (not in the
// store's file, not in the logs, never returned) and works; a registry
// added with a wrong password fails its scans as "authentication", not
// retried, and a push seen by the right one scans the image.
func TestRegistryAdd(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	s, url, dataDir := startServer(t, t.TempDir(), &logs)
	tok := func(scopes string) string {
		_, secret, err := api.CreateToken(ctx, s.Store, api.TokenRequest{Name: scopes, Scopes: scopes}, "test", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	admin, ingestTok := tok("admin,read"), tok("ingest")
	const pass = "correct-horse-battery-staple"
	host := testenv.Registry(t, testenv.RegistryOptions{User: "ci", Password: pass, NotifyURL: url + "/api/v1/registries/wrong/events", NotifyToken: ingestTok})

	_, stderr, code := runCLI(t, ctx, "not-the-password\n", "registry", "add", "--server", url, "--token", admin, "--name", "wrong", "--url", "http://"+host, "--username", "ci", "--password-stdin")
	if code != 0 {
		t.Fatalf("registry add wrong: %d %s", code, stderr)
	}
	out, stderr, code := runCLI(t, ctx, pass+"\n", "registry", "add", "--server", url, "--token", admin, "--name", "good", "--url", "http://"+host, "--username", "ci", "--password-stdin")
	if code != 0 || !strings.Contains(out, "/api/v1/registries/good/events") {
		t.Fatalf("registry add good: %d %s %s", code, out, stderr)
	}
	_, _, code = runCLI(t, ctx, "", "registry", "add", "--server", url, "--token", admin, "--name", "Bad Name", "--url", "http://"+host)
	if code == 0 {
		t.Error("a bad registry name was accepted")
	}

	img, err := random.Image(512, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host+"/team/app:1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "ci", Password: pass})); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	rc, err := client.New(url, tok("read"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wait := func(reg string, ok func(*store.ImageScan) bool) *store.ImageScan {
		deadline := time.Now().Add(30 * time.Second)
		for {
			page, err := rc.RegistryImages(ctx, reg, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				if it.Digest == d.String() && it.Scan != nil && ok(it.Scan) {
					return it.Scan
				}
			}
			if time.Now().After(deadline) {
				rows, _ := s.Store.DB().Query(`SELECT id, kind, queue, state, attempt, COALESCE(unique_key,''), COALESCE(unique_states, 0), args FROM river_job`)
				for rows.Next() {
					var id, att, us int
					var k, q, stt, args string
					var uk []byte
					rows.Scan(&id, &k, &q, &stt, &att, &uk, &us, &args)
					t.Logf("job %d %s %s %s attempt %d unique %x states %d %s", id, k, q, stt, att, uk, us, args)
				}
				t.Fatalf("%s: %s not in the expected state: %+v", reg, d, page.Items)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	st := wait("wrong", func(s *store.ImageScan) bool { return s.State == store.ScanFailed })
	if st.Reason != "authentication" || st.Attempts != 1 {
		t.Errorf("wrong password: %+v", st)
	}
	// The right registry hears of the push: the failed digest is scanned.
	body := fmt.Sprintf(`{"repository":"team/app","digest":%q,"tag":"1","action":"push"}`, d)
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/registries/good/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ingestTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %v %v", resp, err)
	}
	resp.Body.Close()
	wait("good", func(s *store.ImageScan) bool { return s.State == store.ScanScanned })

	var got map[string]any
	if err := rc.Get(ctx, "/api/v1/registries/good", nil, &got); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dataDir, store.FileName))
	wal, _ := os.ReadFile(filepath.Join(dataDir, store.FileName+"-wal"))
	for what, b := range map[string][]byte{"the logs": logs.Bytes(), "the API": []byte(fmt.Sprint(got)), "the store": append(raw, wal...)} {
		if bytes.Contains(b, []byte(pass)) {
			t.Errorf("the registry password is in %s", what)
		}
	}
}
