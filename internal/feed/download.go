package feed

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/progress"
	"github.com/bulwarkdev/bulwark/internal/redact"
)

// maxDownload bounds one upstream file; the largest (OSV Debian all.zip,
// the Debian tracker JSON) are a few hundred MiB.
const maxDownload = 4 << 30

// Upstream is one file to fetch for a database update.
type Upstream struct {
	Name string // short label for logs and errors ("osv-Go")
	URL  string
	File string // file name within the download folder
	// MirrorList: URL lists repository base URLs, one a line; the first
	// is used (Amazon Linux).
	MirrorList bool
	// Repo: URL (or the mirror) is a yum repository; the file fetched is
	// the updateinfo its repodata/repomd.xml names (Amazon, Oracle).
	Repo bool
}

// osvEcosystems are the OSV.dev bulk exports Bulwark imports: language
// ecosystems, and the distributions whose vendors publish OSV themselves
// (AlmaLinux, Rocky, SUSE, openSUSE, Azure Linux/CBL-Mariner, Wolfi,
// Chainguard, Ubuntu) or whose data OSV.dev converts (Debian, Alpine).
var osvEcosystems = []string{"Go", "npm", "PyPI", "Maven", "NuGet", "RubyGems", "crates.io", "Packagist",
	"Debian", "Alpine", "Ubuntu", "AlmaLinux", "Rocky Linux", "SUSE", "openSUSE", "Azure Linux", "Wolfi", "Chainguard"}

// nativeEcosystems are covered by a vendor's own format in the defaults.
var nativeEcosystems = []string{"Red Hat", "Photon OS", "Amazon Linux", "Oracle Linux"}

// DefaultCovers reports whether the default upstreams carry advisories for
// an ecosystem ("Debian:12", "npm"; judged by its base name), so a scan can
// tell a user whether a plain `bulwark db update` fills a gap.
func DefaultCovers(ecosystem string) bool {
	base, _, _ := strings.Cut(ecosystem, ":")
	return slices.Contains(osvEcosystems, base) || slices.Contains(nativeEcosystems, base)
}

// DefaultUpstreams lists the public feeds Bulwark downloads whole: OSV
// bulk exports per ecosystem, EPSS, the CISA KEV catalogue, Alpine secdb
// for the supported releases, Amazon's and Oracle's updateinfo, Photon's
// CVE metadata and the Debian security tracker. NVD and Red Hat's VEX are
// fetched incrementally (update.incrementals).
func DefaultUpstreams() []Upstream {
	var ups []Upstream
	for _, e := range osvEcosystems {
		ups = append(ups, Upstream{
			Name: "osv-" + e,
			URL:  "https://osv-vulnerabilities.storage.googleapis.com/" + url.PathEscape(e) + "/all.zip",
			File: "osv-" + strings.ReplaceAll(e, " ", "-") + ".zip",
		})
	}
	// FIRST's EPSS scores of the day, beside KEV: what is likely to be
	// exploited next.
	ups = append(ups, Upstream{
		Name: "epss",
		URL:  "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
		File: "epss_scores-current.csv.gz",
	})
	ups = append(ups, Upstream{
		Name: "kev",
		URL:  "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
		File: "kev.json",
	})
	for _, rel := range []string{"v3.18", "v3.19", "v3.20", "v3.21", "v3.22"} {
		for _, repo := range []string{"main", "community"} {
			ups = append(ups, Upstream{
				Name: "alpine-" + rel + "-" + repo,
				URL:  "https://secdb.alpinelinux.org/" + rel + "/" + repo + ".json",
				File: "alpine-secdb-" + rel + "-" + repo + ".json",
			})
		}
	}
	// Amazon Linux and Oracle Linux publish their advisories (ALAS, ELSA)
	// as the updateinfo of their package repositories.
	for _, r := range []struct{ name, url string }{
		{"amazonlinux-2023", "https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list"},
		{"amazonlinux-2", "https://cdn.amazonlinux.com/2/core/latest/x86_64/mirror.list"},
	} {
		ups = append(ups, Upstream{Name: r.name, URL: r.url, File: r.name + "-updateinfo.xml.gz", MirrorList: true, Repo: true})
	}
	for _, r := range []string{"OL8/baseos", "OL8/appstream", "OL9/baseos", "OL9/appstream"} {
		name := "oraclelinux-" + strings.ToLower(strings.ReplaceAll(r, "/", "-"))
		ups = append(ups, Upstream{Name: name, URL: "https://yum.oracle.com/repo/OracleLinux/" + r + "/latest/x86_64/",
			File: name + "-updateinfo.xml.gz", Repo: true})
	}
	for _, rel := range []string{"4.0", "5.0"} {
		ups = append(ups, Upstream{
			Name: "photon-" + rel,
			URL:  "https://packages.broadcom.com/photon/photon_cve_metadata/cve_data_photon" + rel + ".json",
			File: "cve_data_photon" + rel + ".json", // the loader reads the release from the name
		})
	}
	ups = append(ups, Upstream{
		Name: "debian-tracker",
		URL:  "https://security-tracker.debian.org/tracker/data/json",
		File: "debian-tracker.json",
	})
	return ups
}

// Download fetches each upstream into dst, writing to a temporary file and
// renaming it into place so a failed fetch leaves the previous copy intact.
// A failed upstream does not stop the others; the errors are joined.
func Download(ctx context.Context, client *http.Client, dst string, ups []Upstream, log *slog.Logger) error {
	if client == nil {
		client = http.DefaultClient
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("create download folder %s: %w", dst, err)
	}
	var errs []error
	for _, u := range ups {
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, err)...)
		}
		n, err := fetch(ctx, client, dst, u)
		if err != nil {
			log.Warn("download failed", "upstream", u.Name, "url", redact.URL(u.URL), "err", err)
			errs = append(errs, fmt.Errorf("download %s (%s): %w", u.Name, redact.URL(u.URL), err))
			continue
		}
		log.Info("downloaded", "upstream", u.Name, "file", u.File, "bytes", n)
	}
	return errors.Join(errs...)
}

// Get reads a small document whole: 200 only, at most limit bytes, the
// URL's credentials kept out of errors. Every feed's fetcher uses it.
func Get(ctx context.Context, client *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, redact.URLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	// Counted on the bar of the download under way, if any (a feed read
	// page by page: NVD, Red Hat).
	b, err := io.ReadAll(progress.Reader(io.LimitReader(resp.Body, limit+1), progress.BarFrom(ctx)))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return b, err
}

// updateinfoURL reads a yum repository's repodata/repomd.xml and returns
// the URL of the updateinfo it names.
func updateinfoURL(ctx context.Context, client *http.Client, repo string) (string, error) {
	base, err := url.Parse(strings.TrimSuffix(repo, "/") + "/")
	if err != nil {
		return "", err
	}
	b, err := Get(ctx, client, base.JoinPath("repodata", "repomd.xml").String(), 1<<20)
	if err != nil {
		return "", fmt.Errorf("repomd.xml: %w", err)
	}
	var md struct {
		Data []struct {
			Type     string `xml:"type,attr"`
			Location struct {
				Href string `xml:"href,attr"`
			} `xml:"location"`
		} `xml:"data"`
	}
	if err := xml.Unmarshal(b, &md); err != nil {
		return "", fmt.Errorf("repomd.xml: %w", err)
	}
	for _, d := range md.Data {
		if d.Type != "updateinfo" {
			continue
		}
		h := d.Location.Href
		// Only a path inside the repository: never another host.
		if h == "" || strings.Contains(h, "..") || strings.Contains(h, ":") || strings.HasPrefix(h, "/") {
			return "", fmt.Errorf("repomd.xml: updateinfo location %q is not a path in the repository", h)
		}
		return base.ResolveReference(&url.URL{Path: h}).String(), nil
	}
	return "", errors.New("repomd.xml names no updateinfo")
}

func fetch(ctx context.Context, client *http.Client, dst string, u Upstream) (int64, error) {
	file := filepath.Base(filepath.Clean("/" + u.File))
	if file == "/" || file == "." || strings.ContainsAny(file, `/\`) {
		return 0, fmt.Errorf("bad file name %q", u.File)
	}
	if u.MirrorList {
		b, err := Get(ctx, client, u.URL, 64<<10)
		if err != nil {
			return 0, fmt.Errorf("read mirror list: %w", err)
		}
		first, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		mu, err := url.Parse(strings.TrimSpace(first))
		if err != nil || mu.Scheme != "https" || mu.Host == "" {
			return 0, fmt.Errorf("mirror list: first entry %q is not an https URL", first)
		}
		u.URL = mu.String()
	}
	if u.Repo {
		target, err := updateinfoURL(ctx, client, u.URL)
		if err != nil {
			return 0, fmt.Errorf("resolve updateinfo: %w", err)
		}
		u.URL = target
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, redact.URLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("HTTP %s", resp.Status)
	}
	tmp, err := os.CreateTemp(dst, "."+file+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	bar := progress.Start(ctx, "download "+u.Name, resp.ContentLength, true)
	n, err := io.Copy(tmp, progress.Reader(io.LimitReader(resp.Body, maxDownload+1), bar))
	bar.Finish()
	if err == nil && n > maxDownload {
		err = fmt.Errorf("larger than %d bytes", int64(maxDownload))
	}
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("short body: %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dst, file)); err != nil {
		return n, err
	}
	return n, nil
}
