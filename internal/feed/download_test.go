package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultUpstreams(t *testing.T) {
	ups := DefaultUpstreams()
	seen := map[string]bool{}
	var osv, alpine, kev, debian, redhat, epss, photon, amazon, oracle int
	for _, u := range ups {
		if seen[u.File] {
			t.Errorf("duplicate file %s", u.File)
		}
		seen[u.File] = true
		switch {
		case strings.HasPrefix(u.URL, "https://osv-vulnerabilities.storage.googleapis.com/") && strings.HasSuffix(u.URL, "/all.zip"):
			osv++
		case strings.HasPrefix(u.URL, "https://secdb.alpinelinux.org/v3."):
			alpine++
		case strings.Contains(u.URL, "known_exploited_vulnerabilities.json"):
			kev++
		case strings.HasPrefix(u.URL, "https://cdn.amazonlinux.com/") && u.MirrorList && u.Repo:
			amazon++
		case strings.HasPrefix(u.URL, "https://yum.oracle.com/repo/OracleLinux/") && u.Repo:
			oracle++
		case strings.HasPrefix(u.URL, "https://packages.broadcom.com/photon/photon_cve_metadata/cve_data_photon"):
			photon++
		case strings.HasPrefix(u.URL, "https://epss.empiricalsecurity.com/"):
			epss++
		case strings.Contains(u.URL, "security-tracker.debian.org"):
			debian++
		case strings.HasPrefix(u.URL, "https://security.access.redhat.com/data/csaf/v2/vex/") && u.Latest:
			redhat++
		default:
			t.Errorf("unexpected upstream %+v", u)
		}
	}
	if osv != 18 || alpine != 10 || kev != 1 || debian != 1 || redhat != 1 || epss != 1 || photon != 2 || amazon != 2 || oracle != 4 {
		t.Errorf("osv %d alpine %d kev %d debian %d redhat %d", osv, alpine, kev, debian, redhat)
	}
	for _, f := range []string{"osv-crates.io.zip", "osv-Rocky-Linux.zip", "osv-Azure-Linux.zip", "osv-Wolfi.zip", "osv-Chainguard.zip", "osv-SUSE.zip", "osv-openSUSE.zip", "osv-AlmaLinux.zip"} {
		if !seen[f] {
			t.Errorf("%s missing", f)
		}
	}
	for _, u := range ups {
		if u.File == "osv-Rocky-Linux.zip" && !strings.Contains(u.URL, "/Rocky%20Linux/") {
			t.Errorf("Rocky Linux URL not escaped: %s", u.URL)
		}
	}
	for _, eco := range []string{"Red Hat:9", "AlmaLinux:8", "Wolfi", "Azure Linux:2", "SUSE:Linux Enterprise Server 15 SP5"} {
		if !DefaultCovers(eco) {
			t.Errorf("DefaultCovers(%q) = false", eco)
		}
	}
}

// TestDownloadLatest: an upstream that names its current file in a
// pointer file (Red Hat's archive_latest.txt) is fetched through it, and
// a pointer that is not a plain file name is refused.
func TestDownloadLatest(t *testing.T) {
	pointer := "csaf_vex_2026-12-05.tar.zst\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/vex/archive_latest.txt":
			w.Write([]byte(pointer))
		case "/vex/csaf_vex_2026-12-05.tar.zst":
			w.Write([]byte("archive"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dst := t.TempDir()
	up := Upstream{Name: "rh", URL: srv.URL + "/vex/archive_latest.txt", File: "rh.tar.zst", Latest: true}
	if err := Download(context.Background(), srv.Client(), dst, []Upstream{up}, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "rh.tar.zst")); string(b) != "archive" {
		t.Errorf("fetched %q", b)
	}
	pointer = "../../etc/passwd"
	if err := Download(context.Background(), srv.Client(), dst, []Upstream{up}, nil); err == nil || !strings.Contains(err.Error(), "plain file name") {
		t.Errorf("hostile pointer: %v", err)
	}
}

func TestDownload(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.json":
			w.Write([]byte(`{"ok": true}`))
		case "/short":
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("truncated"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dst := t.TempDir()
	// A previous copy must survive a failed update.
	if err := os.WriteFile(filepath.Join(dst, "missing.json"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ups := []Upstream{
		{Name: "ok", URL: srv.URL + "/ok.json", File: "ok.json"},
		{Name: "missing", URL: srv.URL + "/nope", File: "missing.json"},
		{Name: "short", URL: srv.URL + "/short", File: "short.json"},
		{Name: "evil", URL: srv.URL + "/ok.json", File: "../../escape.json"},
	}
	err := Download(context.Background(), srv.Client(), dst, ups, nil)
	if err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "short") {
		t.Fatalf("err = %v, want the 404 and the short body reported", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "ok.json")); string(b) != `{"ok": true}` {
		t.Errorf("ok.json = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "missing.json")); string(b) != "old" {
		t.Errorf("previous copy replaced: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dst, "short.json")); !os.IsNotExist(err) {
		t.Errorf("truncated download kept: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "escape.json")); string(b) != `{"ok": true}` {
		t.Errorf("cleaned name not written inside dst: %q", b)
	}
	entries, _ := os.ReadDir(dst)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Download(ctx, srv.Client(), dst, ups[:1], nil); err == nil {
		t.Error("cancelled download: no error")
	}
}

// TestDownloadRepoUpdateinfo: Amazon's mirror list leads to a repository
// whose repomd.xml names the updateinfo that is fetched; a repomd.xml
// pointing outside the repository is refused.
func TestDownloadRepoUpdateinfo(t *testing.T) {
	href := "repodata/0123-updateinfo.xml.gz"
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/mirror.list":
			w.Write([]byte(srv.URL + "/guids/abc/x86_64/\n" + srv.URL + "/other/\n"))
		case "/guids/abc/x86_64/repodata/repomd.xml":
			w.Write([]byte(`<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo"><data type="primary"><location href="repodata/p.xml.gz"/></data><data type="updateinfo"><location href="` + href + `"/></data></repomd>`))
		case "/guids/abc/x86_64/repodata/0123-updateinfo.xml.gz":
			w.Write([]byte("updateinfo"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dst := t.TempDir()
	up := Upstream{Name: "al", URL: srv.URL + "/mirror.list", File: "al-updateinfo.xml.gz", MirrorList: true, Repo: true}
	if err := Download(context.Background(), srv.Client(), dst, []Upstream{up}, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "al-updateinfo.xml.gz")); string(b) != "updateinfo" {
		t.Errorf("fetched %q", b)
	}
	for _, bad := range []string{"https://elsewhere.example/u.xml.gz", "../../u.xml.gz", "/etc/u.xml.gz"} {
		href = bad
		if err := Download(context.Background(), srv.Client(), dst, []Upstream{up}, nil); err == nil || !strings.Contains(err.Error(), "not a path in the repository") {
			t.Errorf("href %q: %v", bad, err)
		}
	}
}
