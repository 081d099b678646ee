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
	var osv, alpine, kev, debian, epss, photon, amazon, oracle int
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
		default:
			t.Errorf("unexpected upstream %+v", u)
		}
	}
	if osv != 18 || alpine != 10 || kev != 1 || debian != 1 || epss != 1 || photon != 2 || amazon != 2 || oracle != 4 {
		t.Errorf("osv %d alpine %d kev %d debian %d epss %d photon %d amazon %d oracle %d", osv, alpine, kev, debian, epss, photon, amazon, oracle)
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
