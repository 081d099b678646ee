package scan_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// entry is one tar member: Typeflag 0 means a regular file with Body.
type entry struct {
	Name     string
	Body     []byte
	Typeflag byte
	Linkname string
	Size     int64 // declared size when it differs from len(Body)
}

func tarLayerOf(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: e.Typeflag, Linkname: e.Linkname, ModTime: time.Unix(0, 0)}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				t.Fatal(err)
			}
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

func layoutOf(t *testing.T, layers ...v1.Layer) string {
	t.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{OS: "linux", Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{CreatedBy: "step " + string(rune('0'+i))}}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(t.TempDir(), "oci")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(testenv.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestScanAlpineImage: a synthetic Alpine 3.18 image carrying the real
// Alpine 3.18.0 base package DB, matched against the real secdb data.
func TestScanAlpineImage(t *testing.T) {
	cache := cacheWithDB(t)
	dir := layoutOf(t, tarLayerOf(t,
		entry{Name: "etc/os-release", Body: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.0\nPRETTY_NAME=\"Alpine Linux v3.18\"\n")},
		entry{Name: "lib/apk/db/installed", Body: readShared(t, "fixtures/pkgdb/apk/alpine-3.18-base/lib/apk/db/installed")},
	))
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromLayout, Ref: dir}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	if r.Distro == nil || r.Distro.ID != "alpine" {
		t.Fatalf("distro %+v", r.Distro)
	}
	if n := len(r.Packages); n != 15 {
		t.Errorf("%d apk packages, want 15", n)
	}
	for _, want := range []struct{ pkg, id, fixed string }{
		{"libssl3", "CVE-2023-2650", "3.1.1-r0"},
		{"libcrypto3", "CVE-2023-2650", "3.1.1-r0"},
		{"busybox", "CVE-2022-48174", "1.36.1-r1"},
	} {
		f := findFinding(r, want.pkg, want.id)
		if f == nil {
			t.Errorf("%s: no %s finding", want.pkg, want.id)
			continue
		}
		if f.FixedVersion != want.fixed || !strings.Contains(f.Package.PURL, "pkg:apk/alpine/"+want.pkg) {
			t.Errorf("%s %s: fixed %q purl %q", want.pkg, want.id, f.FixedVersion, f.Package.PURL)
		}
	}
	for _, f := range r.Findings {
		if f.Package.Name == "zlib" {
			t.Errorf("zlib has nothing open in the 3.18 secdb (its \"0\" entries mean not affected), got %s", f.ID)
		}
	}
}

// TestScanRPMImage: the real CBL-Mariner rpm sqlite DB in a synthetic image
// is catalogued (no local RPM feed, so no findings and no errors).
func TestScanRPMImage(t *testing.T) {
	cache := cacheWithDB(t)
	dir := layoutOf(t, tarLayerOf(t,
		entry{Name: "etc/os-release", Body: []byte("NAME=\"Common Base Linux Mariner\"\nVERSION=\"2.0.20230630\"\nID=mariner\nVERSION_ID=\"2.0\"\n")},
		entry{Name: "var/lib/rpm/rpmdb.sqlite", Body: readShared(t, "fixtures/pkgdb/rpm/cbl-mariner-2.0/var/lib/rpm/rpmdb.sqlite")},
	))
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromLayout, Ref: dir}, scanOpts(cache))
	if err != nil {
		t.Fatal(err)
	}
	rpms := 0
	for _, p := range r.Packages {
		if p.Type == model.TypeRPM {
			rpms++
			if !strings.HasPrefix(p.PURL, "pkg:rpm/mariner/") {
				t.Errorf("purl %s", p.PURL)
			}
		}
	}
	if rpms != 129 {
		t.Errorf("%d rpm packages, want 129", rpms)
	}
	// The shared feeds do not cover Mariner (OSV files it under Azure
	// Linux): the image is not assessed, never healthy.
	checkCoverage(t, r, nil, []string{"Azure Linux:2"})
	checkNotAssessed(t, r, "Azure Linux:2")
	for _, w := range r.Warnings {
		if w.Stage != "os" {
			t.Errorf("unexpected warning %+v", w)
		}
	}
}

// TestScanMaliciousLayers: hostile layers cost a warning each and lose
// nothing else: the good layers' packages are all reported.
func TestScanMaliciousLayers(t *testing.T) {
	cache := cacheWithDB(t)
	status := []byte("Package: libc6\nStatus: install ok installed\nSource: glibc\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\n\n")
	good := tarLayerOf(t,
		entry{Name: "etc/os-release", Body: []byte("ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n")},
		entry{Name: "var/lib/dpkg/status", Body: status},
	)
	hostile := tarLayerOf(t,
		// Path traversal: must not land anywhere, least of all on the status file.
		entry{Name: "../../../var/lib/dpkg/status", Body: []byte("Package: evil\nStatus: install ok installed\nVersion: 6.6.6\n\n")},
		// Symlink escapes are never followed.
		entry{Name: "etc/os-release", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"},
		entry{Name: "app/package-lock.json", Typeflag: tar.TypeSymlink, Linkname: "../../../../root/.npmrc"},
		// A hard link to a file outside the layer.
		entry{Name: "app/node_modules/x/package.json", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"},
		entry{Name: "app/requirements.lock", Body: []byte("ok")},
	)
	// A layer too big for the configured limit (a decompression bomb).
	bomb := tarLayerOf(t, entry{Name: "zeros", Body: make([]byte, 8<<20)})
	// A corrupt gzip blob.
	corrupt := static.NewLayer([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5}, types.DockerLayer)
	app := tarLayerOf(t, entry{Name: "srv/package-lock.json", Body: []byte(`{"lockfileVersion":3,"packages":{"":{"name":"srv"},"node_modules/lodash":{"version":"4.17.4"}}}`)})
	dir := layoutOf(t, good, hostile, bomb, corrupt, app)
	opts := scanOpts(cache)
	opts.Limits = layer.Limits{MaxLayerSize: 4 << 20}
	r, err := scan.Image(context.Background(), scan.Target{Kind: scan.FromLayout, Ref: dir}, opts)
	if err != nil {
		t.Fatalf("hostile layers must not fail the scan: %v", err)
	}
	names := map[string]model.Package{}
	for _, p := range r.Packages {
		names[p.Name] = p
	}
	if _, ok := names["evil"]; ok {
		t.Error("a traversal entry was catalogued")
	}
	if p, ok := names["libc6"]; !ok || p.Layer == nil || p.Layer.Index != 0 {
		t.Errorf("libc6 from the good base layer: %+v", p)
	}
	if p, ok := names["lodash"]; !ok || p.Layer == nil || p.Layer.Index != 4 {
		t.Errorf("lodash from the last layer: %+v", p)
	}
	if r.Distro == nil || r.Distro.ID != "debian" {
		t.Errorf("distro %+v: the os-release symlink must not replace the real file's content with anything read outside", r.Distro)
	}
	var layerWarnings []string
	for _, w := range r.Warnings {
		if w.Stage == "layer" {
			layerWarnings = append(layerWarnings, w.Message)
		}
	}
	joined := strings.Join(layerWarnings, "\n")
	t.Logf("layer warnings:\n%s", joined)
	if len(layerWarnings) < 2 || !strings.Contains(joined, "gzip") && !strings.Contains(joined, "flate") && !strings.Contains(joined, "inflate") {
		t.Errorf("want warnings for the bomb and the corrupt layer, got:\n%s", joined)
	}
	if findFinding(r, "lodash", "GHSA-p6mc-m468-83gw") == nil {
		t.Error("matching must go on after hostile layers")
	}
}
