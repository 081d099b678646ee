package scan_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// The shared DB is built once per test binary from ../shared/vulndata through
// the same path `bulwark db update --source` takes.
var (
	dbOnce  sync.Once
	dbCache string
	dbErr   error
)

func cacheWithDB(t *testing.T) string {
	t.Helper()
	src := testenv.Shared(t, "vulndata")
	dbOnce.Do(func() {
		dbCache, dbErr = os.MkdirTemp("", "bulwark-e2e-cache-*")
		if dbErr != nil {
			return
		}
		_, dbErr = update.Run(context.Background(), scan.DBDir(dbCache), update.Options{Sources: []string{src}})
	})
	if dbErr != nil {
		t.Fatalf("build DB from %s: %v", src, dbErr)
	}
	return dbCache
}

// appLayer is what "your build" adds on top of Debian: an npm app with an
// old lodash and a Python package with an old requests (both have real
// advisories in ../shared/vulndata/osv/ghsa-sample).
func appLayer(t *testing.T) v1.Layer {
	t.Helper()
	files := map[string]string{
		"app/package.json":      `{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.4"}}`,
		"app/package-lock.json": `{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.4"}},"node_modules/lodash":{"version":"4.17.4","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz","license":"MIT"}}}`,
		"usr/local/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: requests\nVersion: 2.19.0\nLicense: Apache 2.0\n\nHTTP for Humans.\n",
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range []string{"app/package.json", "app/package-lock.json", "usr/local/lib/python3.11/site-packages/requests-2.19.0.dist-info/METADATA"} {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// debianImage builds the test image: the debootstrap rootfs as the base
// layer, a CMD history entry ending the base, and the app layer.
func debianImage(t *testing.T) v1.Image {
	t.Helper()
	rootfs := testenv.DebianRootfs(t, "bookworm-minbase")
	base, err := tarball.LayerFromFile(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: "amd64", OS: "linux",
		Config: v1.Config{Cmd: []string{"bash"}}})
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{CreatedBy: "debootstrap --variant=minbase bookworm", Created: v1.Time{Time: time.Unix(1700000000, 0)}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Append(img, mutate.Addendum{History: v1.History{CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`, EmptyLayer: true}})
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: appLayer(t), History: v1.History{CreatedBy: "COPY app/ /app/ # buildkit"}})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// installedDebs counts installed packages in the rootfs tar's dpkg status,
// independently of Bulwark's cataloger.
func installedDebs(t *testing.T, rootfs string) map[string]string {
	t.Helper()
	f, err := os.Open(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no dpkg status in %s: %v", rootfs, err)
		}
		if strings.TrimPrefix(h.Name, "./") != "var/lib/dpkg/status" {
			continue
		}
		out := map[string]string{}
		sc := bufio.NewScanner(tr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var pkg, ver string
		installed := false
		flush := func() {
			if pkg != "" && installed {
				out[pkg] = ver
			}
			pkg, ver, installed = "", "", false
		}
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				flush()
			case strings.HasPrefix(line, "Package: "):
				pkg = strings.TrimPrefix(line, "Package: ")
			case strings.HasPrefix(line, "Version: "):
				ver = strings.TrimPrefix(line, "Version: ")
			case line == "Status: install ok installed":
				installed = true
			}
		}
		flush()
		return out
	}
}

func findPkg(r *model.Report, typ model.PackageType, name string) *model.Package {
	for i := range r.Packages {
		if r.Packages[i].Type == typ && r.Packages[i].Name == name {
			return &r.Packages[i]
		}
	}
	return nil
}

func findFinding(r *model.Report, pkg, id string) *model.Finding {
	for i := range r.Findings {
		f := &r.Findings[i]
		if f.Package.Name != pkg {
			continue
		}
		if f.ID == id {
			return f
		}
		for _, a := range f.Aliases {
			if a == id {
				return f
			}
		}
	}
	return nil
}

// checkDebianReport asserts what every source of the test image must give.
func checkDebianReport(t *testing.T, r *model.Report, wantApp bool) {
	t.Helper()
	want := installedDebs(t, testenv.DebianRootfs(t, "bookworm-minbase"))
	debs := 0
	for _, p := range r.Packages {
		if p.Type == model.TypeDeb {
			debs++
			if v, ok := want[p.Name]; !ok || v != p.Version {
				t.Errorf("deb %s %s not installed in the rootfs (want version %q)", p.Name, p.Version, v)
			}
		}
	}
	if debs != len(want) {
		t.Errorf("found %d deb packages, dpkg status has %d installed", debs, len(want))
	}
	if r.Distro == nil || r.Distro.ID != "debian" || !strings.HasPrefix(r.Distro.VersionID, "12") {
		t.Fatalf("distro = %+v, want debian 12", r.Distro)
	}
	libc := findPkg(r, model.TypeDeb, "libc6")
	if libc == nil {
		t.Fatal("libc6 not found")
	}
	if libc.SourceName != "glibc" {
		t.Errorf("libc6 source = %q, want glibc", libc.SourceName)
	}
	if !strings.Contains(libc.PURL, "pkg:deb/debian/libc6@") || !strings.Contains(libc.PURL, "upstream=glibc") {
		t.Errorf("libc6 purl = %q", libc.PURL)
	}
	if libc.Layer == nil || libc.Layer.Index != 0 || (wantApp && !libc.Layer.Base) {
		t.Errorf("libc6 layer = %+v, want base layer 0", libc.Layer)
	}
	// Every part of the image is covered by the shared feeds: assessed as
	// before the coverage check existed.
	wantParts := []string{"Debian:12"}
	if wantApp {
		wantParts = append(wantParts, "PyPI", "npm")
	}
	checkCoverage(t, r, wantParts, nil)
	if r.Summary.Verdict == model.VerdictNotAssessed || r.Summary.Healthy != (r.Summary.Verdict == model.VerdictHealthy) {
		t.Errorf("verdict %q healthy=%t, want the findings' verdict", r.Summary.Verdict, r.Summary.Healthy)
	}
	// zlib is only fixed in sid in the stored tracker data: bookworm stays affected.
	if f := findFinding(r, "zlib1g", "CVE-2023-45853"); f == nil {
		t.Errorf("no CVE-2023-45853 finding on zlib1g")
	} else if wantApp && (f.Package.Layer == nil || !f.Package.Layer.Base || !strings.Contains(f.Remediation, "base image")) {
		t.Errorf("zlib finding should point at the base image: layer=%+v remediation=%q", f.Package.Layer, f.Remediation)
	}
	// coreutils CVE-2016-2781 is <ignored> by Debian: a will-not-fix finding.
	if f := findFinding(r, "coreutils", "CVE-2016-2781"); f == nil || f.Status != model.StatusWillNotFix {
		t.Errorf("coreutils CVE-2016-2781 = %+v, want will-not-fix", f)
	}
	if !wantApp {
		return
	}
	lodash := findPkg(r, model.TypeNPM, "lodash")
	if lodash == nil {
		t.Fatal("lodash not found")
	}
	if lodash.Layer == nil || lodash.Layer.Index != 1 || lodash.Layer.Base || !strings.Contains(lodash.Layer.CreatedBy, "COPY app/") {
		t.Errorf("lodash layer = %+v, want layer 1 from the build", lodash.Layer)
	}
	f := findFinding(r, "lodash", "GHSA-p6mc-m468-83gw")
	if f == nil {
		t.Fatalf("lodash 4.17.4 should match GHSA-p6mc-m468-83gw; findings: %d", len(r.Findings))
	}
	if f.FixedVersion == "" || !strings.Contains(f.Remediation, "4.17.4") {
		t.Errorf("lodash finding: fixed=%q remediation=%q", f.FixedVersion, f.Remediation)
	}
	if findFinding(r, "requests", "GHSA-j8r2-6x86-q33q") == nil {
		t.Errorf("requests 2.19.0 should match GHSA-j8r2-6x86-q33q")
	}
	if r.Summary.Healthy {
		t.Errorf("image with a high-severity lodash finding reported healthy: %+v", r.Summary.Counts)
	}
}

func scanOpts(cache string) scan.Options {
	return scan.Options{CacheDir: cache, Now: func() time.Time { return time.Now() }, DBMaxAge: 100 * 365 * 24 * time.Hour}
}

func TestScanRegistryImage(t *testing.T) {
	cache := cacheWithDB(t)
	img := debianImage(t)
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	ref, err := name.ParseReference(reg + "/bulwark-test/debian:12")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push to %s: %v", reg, err)
	}
	dig, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	byTag, err := scan.Image(ctx, scan.Target{Kind: scan.FromRegistry, Ref: ref.String()}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	checkDebianReport(t, byTag, true)
	if byTag.Image.Digest != dig.String() || byTag.Resource.ID != dig.String() {
		t.Errorf("image digest = %q / resource id %q, want %s", byTag.Image.Digest, byTag.Resource.ID, dig)
	}
	byDigest, err := scan.Image(ctx, scan.Target{Kind: scan.FromRegistry, Ref: reg + "/bulwark-test/debian@" + dig.String()}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	if len(byDigest.Findings) != len(byTag.Findings) || len(byDigest.Packages) != len(byTag.Packages) {
		t.Errorf("by digest: %d findings/%d packages; by tag: %d/%d", len(byDigest.Findings), len(byDigest.Packages), len(byTag.Findings), len(byTag.Packages))
	}
}

func TestScanRegistryWithCredentials(t *testing.T) {
	cache := cacheWithDB(t)
	reg := testenv.Registry(t, testenv.RegistryOptions{User: "ci", Password: "s3cret"})
	img := debianImage(t)
	ref, err := name.ParseReference(reg + "/private/debian:12")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "ci", Password: "s3cret"})); err != nil {
		t.Fatalf("push: %v", err)
	}
	// Without credentials the registry refuses.
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	if _, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromRegistry, Ref: ref.String()}, scanOpts(cache)); err == nil {
		t.Fatal("scan without credentials succeeded against an htpasswd registry")
	}
	// With the Docker config's credentials it works.
	testenv.DockerConfig(t, reg, "ci", "s3cret")
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromRegistry, Ref: ref.String()}, scanOpts(cache))
	if err != nil {
		t.Fatalf("scan with Docker config credentials: %v", err)
	}
	checkDebianReport(t, r, true)
}

func TestScanTarballAndLayout(t *testing.T) {
	cache := cacheWithDB(t)
	img := debianImage(t)
	dir := t.TempDir()
	tarPath := writeTarball(t, img, dir)
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []scan.Target{{Kind: scan.FromTarball, Ref: tarPath}, {Kind: scan.FromLayout, Ref: filepath.Join(dir, "oci")}} {
		t.Run(string(tc.Kind), func(t *testing.T) {
			r, err := scan.Image(context.Background(), tc, scanOpts(cache))
			if err != nil {
				t.Fatal(err)
			}
			checkDebianReport(t, r, true)
		})
	}
}

func TestScanDockerEngineImage(t *testing.T) {
	testenv.Docker(t)
	cache := cacheWithDB(t)
	rootfs := testenv.DebianRootfs(t, "bookworm-minbase")
	tag := fmt.Sprintf("bulwark-test/debian-import:%d", time.Now().UnixNano())
	out, err := exec.Command("docker", "import", "--change", `CMD ["bash"]`, rootfs, tag).CombinedOutput()
	if err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromDocker, Ref: tag}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	checkDebianReport(t, r, false)
	found := false
	for _, rt := range r.Image.RepoTags {
		if rt == tag || strings.HasSuffix(rt, "/"+tag) {
			found = true
		}
	}
	if !found {
		t.Errorf("repo tags %v do not include %s", r.Image.RepoTags, tag)
	}
}

func writeTarball(t *testing.T, img v1.Image, dir string) string {
	t.Helper()
	tag, err := name.NewTag("bulwark-test/debian:12")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "img.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}
