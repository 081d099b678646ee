package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/server/servertest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// startServer runs a real server on a loopback port over a SQLite store in
// a temporary data directory, with the DB in cache.
func startServer(t *testing.T, cache string, logs *bytes.Buffer) (*server.Server, string, string) {
	t.Helper()
	dataDir := t.TempDir()
	o := server.Options{DataDir: dataDir, Listen: "127.0.0.1:0", CacheDir: cache, Version: "test"}
	if logs != nil {
		o.Logger = newTestLogger(logs)
	}
	s, url := servertest.Start(t, o)
	return s, url, dataDir
}

// TestServerFirstRunAndListen: the first run writes the admin password
// once to a 0600 file and never logs it; a non-loopback listen without TLS
// is refused unless asked for by name.
func TestServerFirstRunAndListen(t *testing.T) {
	var logs bytes.Buffer
	_, _, dataDir := startServer(t, t.TempDir(), &logs)
	p := filepath.Join(dataDir, server.InitialPasswordFile)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %o, want 600", p, fi.Mode().Perm())
	}
	pw, _ := os.ReadFile(p)
	if len(bytes.TrimSpace(pw)) < 20 || bytes.Contains(logs.Bytes(), bytes.TrimSpace(pw)) {
		t.Errorf("initial password too short or logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), p) {
		t.Errorf("the log does not name the password file:\n%s", logs.String())
	}
	_, code := run(t, "server", "--data-dir", t.TempDir(), "--listen", "0.0.0.0:0")
	if code != 2 {
		t.Errorf("server on 0.0.0.0 without TLS exit %d, want 2 (usage)", code)
	}
}

// debianTarball writes the real Debian test image as a docker-save
// tarball (registry.example/team/debian:12).
func debianTarball(t *testing.T) string { return testenv.DebianImageTarball(t) }

// TestServerIngestFromCLIs: the real CLIs push to a real server; the
// server matches image inventories with its own DB.
func TestServerIngestFromCLIs(t *testing.T) {
	cache := t.TempDir()
	if _, err := update.Run(context.Background(), scan.DBDir(cache), update.Options{Sources: []string{testenv.Shared(t, "vulndata")}}); err != nil {
		t.Fatal(err)
	}
	img := debianTarball(t)
	_, url, dataDir := startServer(t, cache, nil)
	ctx := context.Background()

	tok, code := run(t, "token", "create", "--data-dir", dataDir, "--name", "ci", "--scope", "ingest,read", "--expires", "1d")
	if code != 0 || !strings.HasPrefix(tok, "bwt_") {
		t.Fatalf("token create exit %d: %q", code, tok)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(tok), 0o600) //nolint:errcheck
	out := filepath.Join(t.TempDir(), "report.json")
	_, stderr, code := runCLI(t, ctx, "", "--cache-dir", cache, "scan", "image", "--input", img, "-f", "json", "-o", out, "--server", url, "--token-file", tokFile)
	if code != 0 {
		t.Fatalf("scan image --server exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, fmt.Sprintf("server verdict %s (%d findings)", rep0Verdict(t, out), rep0Count(t, out))) {
		t.Errorf("scan did not say what the server made of it: %s", stderr)
	}
	var rep model.Report
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 {
		t.Fatal("the Debian test image has no findings with ../shared/vulndata: the test proves nothing")
	}
	c, err := client.New(url, strings.TrimSpace(tok), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	countFindings := func() int {
		n, cursor := 0, ""
		for {
			q := urlValues("resource", rep.Resource.ID, "limit", "500", "cursor", cursor)
			p, err := c.Findings(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Items)
			if p.Next == "" {
				return n
			}
			cursor = p.Next
		}
	}
	if got := countFindings(); got != len(rep.Findings) {
		t.Errorf("server stored %d findings, the scan found %d with the same DB", got, len(rep.Findings))
	}
	d, err := c.Resource(ctx, rep.Resource.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Health != string(rep.Summary.Verdict) || d.Name != "registry.example/team/debian:12" || d.Parent != "registry.example/team/debian" || len(d.References) == 0 || d.References[0].Tag != "12" {
		t.Errorf("image on the server = %+v", d)
	}
	cve, want := rep.Findings[0].ID, len(rep.Findings)
	// check image: the server holds this image matched with its DB, so only
	// the digest goes; the verdict is the server's.
	cout, cerr, code := runCLI(t, ctx, "", "--cache-dir", t.TempDir(), "check", "image", "--input", img, "-f", "json", "--server", url, "--token-file", tokFile)
	var cr checkResult
	if code != 0 || json.Unmarshal([]byte(cout), &cr) != nil || cr.Source != "stored" || cr.Verdict != rep.Summary.Verdict || cr.Counts.Total != rep.Summary.Counts.Total {
		t.Errorf("check image = exit %d %+v (%s), want the stored verdict %s", code, cr, cerr, rep.Summary.Verdict)
	}
	// A forged report claiming no findings: the server judges the packages.
	rep.Findings, rep.Summary = []model.Finding{}, model.Summary{Verdict: model.VerdictHealthy, Healthy: true}
	rep.Packages = append(rep.Packages, model.Package{Name: "extra", Version: "1", Type: "deb"}) // new content
	res, err := c.PostJSON(ctx, "", rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary == nil || res.Summary.Counts.Total != want {
		t.Errorf("forged report without findings judged %+v, want the %d findings of the packages", res.Summary, want)
	}
	res, err = c.PostJSON(ctx, "", rep)
	if err != nil || !res.Result.Duplicate {
		t.Errorf("the same report again = %+v, %v, want duplicate", res, err)
	}
	// Where is one of its CVEs.
	w, err := c.WhereIs(ctx, cve)
	if err != nil || len(w.Images) != 1 || w.Images[0].ID != rep.Resource.ID || len(w.Images[0].References) == 0 {
		t.Errorf("where is %s = %+v, %v", cve, w, err)
	}

	// scan k8s of manifests.
	pod := writeManifest(t, "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: priv, namespace: web}\nspec:\n  containers:\n  - name: c\n    image: registry.example/team/debian:12\n    securityContext: {privileged: true}\n")
	if _, stderr, code := runCLI(t, ctx, "", "scan", "k8s", "-f", "json", "-o", filepath.Join(t.TempDir(), "k.json"), pod, "--server", url, "--token", tok); code != 0 {
		t.Fatalf("scan k8s --server exit %d: %s", code, stderr)
	}
	as, err := c.Assessments(ctx, urlValues("rule", "BW-PSS-PRIVILEGED", "status", "unhealthy"))
	if err != nil || len(as.Items) != 1 || !strings.HasSuffix(as.Items[0].ResourceID, "/web/Pod/priv") {
		t.Errorf("privileged pod assessment on the server = %+v, %v", as, err)
	}
	// A read-only token cannot ingest: the CLI says so and fails.
	rtok, _ := run(t, "token", "create", "--data-dir", dataDir, "--name", "ro", "--scope", "read")
	if _, stderr, code := runCLI(t, ctx, "", "scan", "k8s", "-f", "json", "-o", filepath.Join(t.TempDir(), "k.json"), pod, "--server", url, "--token", strings.TrimSpace(rtok)); code != 1 {
		t.Errorf("ingest with a read token: exit %d, %s", code, stderr)
	}
}

// TestServerBenchDocker: bench docker of this host with a container the
// test creates lands as a Docker host with its engine version, its
// containers and its CIS results.
func TestServerBenchDocker(t *testing.T) {
	testenv.Docker(t)
	_, url, dataDir := startServer(t, t.TempDir(), nil)
	ctx := context.Background()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("x\n")
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}) //nolint:errcheck
	tw.Write(body)                                                                                         //nolint:errcheck
	tw.Close()
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	ref, cname := "bulwark-server-test:"+suffix, "bulwark-server-"+suffix
	dockerCmd(t, buf.Bytes(), "import", "-", ref)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() }) //nolint:errcheck
	dockerCmd(t, nil, "create", "--name", cname, "--cap-add", "NET_ADMIN", ref, "/hello")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", cname).Run() }) //nolint:errcheck

	tok, _ := run(t, "token", "create", "--data-dir", dataDir, "--name", "host", "--scope", "ingest,read")
	tok = strings.TrimSpace(tok)
	_, stderr, code := runCLI(t, ctx, "", "bench", "docker", "-f", "json", "-o", filepath.Join(t.TempDir(), "b.json"), "--server", url, "--token", tok)
	if code != 0 {
		t.Fatalf("bench docker --server exit %d: %s", code, stderr)
	}
	c, _ := client.New(url, tok, client.Options{})
	hosts, err := c.Resources(ctx, urlValues("kind", "docker-host"))
	if err != nil || len(hosts.Items) != 1 {
		t.Fatalf("docker hosts = %+v, %v", hosts, err)
	}
	h := hosts.Items[0]
	if h.Facts["docker_version"] == "" || h.Facts["images"] == "" || h.Health == "" {
		t.Errorf("host = %+v", h)
	}
	cs, err := c.Resources(ctx, urlValues("kind", "container", "parent", h.ID, "name", cname))
	if err != nil || len(cs.Items) != 1 || !strings.Contains(cs.Items[0].Facts["cap_add"], "NET_ADMIN") {
		t.Errorf("container %s on the server = %+v, %v", cname, cs, err)
	}
	as, err := c.Assessments(ctx, urlValues("resource", h.ID, "rule", "CIS-DOCKER-5.4"))
	if err != nil || len(as.Items) != 1 {
		t.Errorf("CIS-DOCKER-5.4 of the host = %+v, %v", as, err)
	}
}

func newTestLogger(w *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func rep0Verdict(t *testing.T, path string) model.Verdict {
	var r model.Report
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &r) //nolint:errcheck
	return r.Summary.Verdict
}

func rep0Count(t *testing.T, path string) int {
	var r model.Report
	b, _ := os.ReadFile(path)
	json.Unmarshal(b, &r) //nolint:errcheck
	return r.Summary.Counts.Total
}

func dockerCmd(t *testing.T, stdin []byte, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func urlValues(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	return v
}

// TestServerCheckImage: a server without a vulnerability DB judges an image
// not assessed, and check image's gate fails on it unless told to allow it.
func TestServerCheckImage(t *testing.T) {
	img := debianTarball(t)
	_, url, dataDir := startServer(t, t.TempDir(), nil)
	ctx := context.Background()
	tok, _ := run(t, "token", "create", "--data-dir", dataDir, "--name", "ci", "--scope", "ingest")
	tok = strings.TrimSpace(tok)
	out, stderr, code := runCLI(t, ctx, "", "--cache-dir", t.TempDir(), "check", "image", "--input", img, "--server", url, "--token", tok, "--exit-code", "3")
	if code != 3 || !strings.Contains(out, "not-assessed") {
		t.Errorf("check image without a server DB: exit %d, %q %s; want 3 and not-assessed", code, out, stderr)
	}
	if _, _, code := runCLI(t, ctx, "", "--cache-dir", t.TempDir(), "check", "image", "--input", img, "--server", url, "--token", tok, "--exit-code", "3", "--allow-not-assessed"); code != 0 {
		t.Errorf("check image --allow-not-assessed: exit %d, want 0", code)
	}
	if _, _, code := runCLI(t, ctx, "", "check", "image", "--input", img); code != 2 {
		t.Errorf("check image without --server: exit %d, want 2", code)
	}
}

// TestServerRuntimeReplay: alerts from a replayed recording land on the
// server, once each, and a second replay of the same recording adds none.
func TestServerRuntimeReplay(t *testing.T) {
	_, url, dataDir := startServer(t, t.TempDir(), nil)
	ctx := context.Background()
	tok, _ := run(t, "token", "create", "--data-dir", dataDir, "--name", "rt", "--scope", "ingest,read")
	tok = strings.TrimSpace(tok)
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	in := filepath.Join("testdata", "runtime", "mixed.log")
	for range 2 {
		_, stderr, code := runCLI(t, ctx, "", "runtime", "replay", "--format", "json", "-o", out, in, "--server", url, "--token", tok)
		if code != 0 {
			t.Fatalf("runtime replay --server exit %d: %s", code, stderr)
		}
	}
	b, _ := os.ReadFile(out)
	ids := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var a model.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		ids[a.ID] = true
	}
	if len(ids) == 0 {
		t.Fatal("the recording raised no alert: the test proves nothing")
	}
	c, _ := client.New(url, tok, client.Options{})
	p, err := c.Alerts(ctx, urlValues("limit", "500"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != len(ids) {
		t.Errorf("server holds %d alerts, the replay raised %d", len(p.Items), len(ids))
	}
	for _, a := range p.Items {
		if !ids[a.ID] || a.Status != model.AlertActive {
			t.Errorf("alert %s (%s) on the server: not from the replay, or not active", a.ID, a.Status)
		}
	}
}
