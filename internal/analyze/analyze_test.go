package analyze

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/bulwarkdev/bulwark/internal/catalog"
	"github.com/bulwarkdev/bulwark/internal/layer"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// fakeCataloger reads "*.pkgs" files and var/lib/fake/status: one
// "name version" per line; "@inner name version" is a package nested in
// inner; "!error" fails the file; "!panic" panics.
type fakeCataloger struct{ calls atomic.Int64 }

func (*fakeCataloger) Name() string { return "fake" }
func (*fakeCataloger) Version() int { return 1 }
func (*fakeCataloger) Wants(p string, _ fs.FileMode, _ int64) bool {
	return strings.HasSuffix(p, ".pkgs") || p == "var/lib/fake/status"
}

func (c *fakeCataloger) Parse(_ context.Context, f catalog.File) ([]model.Package, error) {
	c.calls.Add(1)
	var out []model.Package
	for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case fields[0] == "!error":
			return nil, errors.New("bad fake file")
		case fields[0] == "!panic":
			panic("fake cataloger exploded")
		case strings.HasPrefix(fields[0], "@") && len(fields) == 3:
			out = append(out, model.Package{Type: model.TypeNPM, Name: fields[1], Version: fields[2], Path: "!" + fields[0][1:]})
		case len(fields) == 2:
			out = append(out, model.Package{Type: model.TypeNPM, Name: fields[0], Version: fields[1]})
		default:
			return nil, fmt.Errorf("bad line %q", line)
		}
	}
	return out, nil
}

func newTable(t testing.TB) (*catalog.Table, *fakeCataloger) {
	t.Helper()
	fc := &fakeCataloger{}
	tbl, err := catalog.NewTable(fc)
	if err != nil {
		t.Fatal(err)
	}
	return tbl, fc
}

// file is one tar entry; a body starting with "->" makes a symlink.
type file struct{ name, body string }

func tarBytes(t testing.TB, files ...file) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		if strings.HasPrefix(f.body, "->") {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, f.body[2:], 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, f.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarLayer(t testing.TB, files ...file) v1.Layer {
	t.Helper()
	data := tarBytes(t, files...)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// brokenLayer is a layer whose gzip stream is cut short.
type brokenLayer struct{ gz []byte }

func newBrokenLayer(t testing.TB) v1.Layer {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(tarBytes(t, file{"x.pkgs", strings.Repeat("ghost 1\n", 500)}))
	zw.Close()
	return &brokenLayer{gz: buf.Bytes()[:buf.Len()/2]}
}

func (b *brokenLayer) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(b.gz))
	return h, err
}
func (b *brokenLayer) DiffID() (v1.Hash, error) {
	return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}, nil
}
func (b *brokenLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.gz)), nil
}
func (b *brokenLayer) Uncompressed() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b.gz))
	if err != nil {
		return nil, err
	}
	return zr, nil
}
func (b *brokenLayer) Size() (int64, error)                { return int64(len(b.gz)), nil }
func (b *brokenLayer) MediaType() (types.MediaType, error) { return types.DockerLayer, nil }

func buildImage(t testing.TB, layers ...v1.Layer) (v1.Image, []model.Layer) {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	meta := make([]model.Layer, len(layers))
	for i, l := range layers {
		d, _ := l.Digest()
		id, _ := l.DiffID()
		meta[i] = model.Layer{Index: i, Digest: d.String(), DiffID: id.String(), CreatedBy: fmt.Sprintf("step %d", i), Base: i == 0}
	}
	return img, meta
}

// summary renders packages as "name@version path L<layer>" for comparison.
func summary(ps []model.Package) []string {
	var out []string
	for _, p := range ps {
		l := "-"
		if p.Layer != nil {
			l = fmt.Sprintf("L%d", p.Layer.Index)
		}
		out = append(out, fmt.Sprintf("%s@%s %s %s", p.Name, p.Version, p.Path, l))
	}
	return out
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got: %q\nwant: %q", what, got, want)
	}
}

func TestImageOverlayAndAttribution(t *testing.T) {
	base := tarLayer(t,
		file{"var/lib/fake/status", "libc 1\nbash 5\n"},
		file{"opt/a.pkgs", "a 1"},
		file{"opt/dir/b.pkgs", "b 1"},
		file{"usr/x/c.pkgs", "c 1"},
		file{"srv/e.pkgs", "e 1"},
		file{"etc/os-release", "ID=fake\n"},
	)
	added := tarLayer(t,
		file{"var/lib/fake/status", "libc 1\nbash 5\ncurl 7\n"},
		file{"opt/.wh.a.pkgs", ""},
		file{"opt/.wh.dir", ""},
		file{"usr/x/.wh..wh..opq", ""},
		file{"usr/x/d.pkgs", "d 1"},
		file{"srv/.wh.e.pkgs", ""},
		file{"app/app.pkgs", "@lib/inner.jar inner 2\nouter 3\n"},
	)
	top := tarLayer(t,
		file{"var/lib/fake/status", "libc 1\nbash 5.1\ncurl 7\n"},
		file{"srv/e.pkgs", "e 1"},
		file{"usr/lib/os-release", "ID=other\n"},
	)
	img, meta := buildImage(t, base, added, top)
	tbl, _ := newTable(t)
	var gotDistroFiles map[string][]byte
	res, err := Image(context.Background(), img, meta, Options{Table: tbl, detect: func(m map[string][]byte) (*model.Distro, error) {
		gotDistroFiles = m
		return &model.Distro{ID: "fake"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "packages", summary(res.Packages), []string{
		"bash@5.1 /var/lib/fake/status L2",
		"curl@7 /var/lib/fake/status L1",
		"d@1 /usr/x/d.pkgs L1",
		"e@1 /srv/e.pkgs L2",
		"inner@2 /app/app.pkgs!lib/inner.jar L1",
		"libc@1 /var/lib/fake/status L0",
		"outer@3 /app/app.pkgs L1",
	})
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %v", res.Warnings)
	}
	if res.Distro == nil || res.Distro.ID != "fake" {
		t.Errorf("distro = %+v", res.Distro)
	}
	if string(gotDistroFiles["etc/os-release"]) != "ID=fake\n" || string(gotDistroFiles["usr/lib/os-release"]) != "ID=other\n" || len(gotDistroFiles) != 2 {
		t.Errorf("distro files = %q", gotDistroFiles)
	}
	libc := res.Packages[5]
	if libc.Cataloger != "fake" || libc.Layer.CreatedBy != "step 0" || !libc.Layer.Base || libc.Layer.DiffID != meta[0].DiffID {
		t.Errorf("libc = %+v layer %+v", libc, libc.Layer)
	}
	// Package.Layer is a copy per package, not shared with the caller.
	libc.Layer.CreatedBy = "changed"
	if meta[0].CreatedBy != "step 0" || res.Packages[6].Layer.CreatedBy == "changed" {
		t.Error("Package.Layer aliases caller's or another package's layer")
	}
}

func TestImageOpaqueRootAndDistroWhiteout(t *testing.T) {
	img, meta := buildImage(t,
		tarLayer(t, file{"a.pkgs", "a 1"}, file{"etc/os-release", "ID=x"}),
		tarLayer(t, file{".wh..wh..opq", ""}, file{"b.pkgs", "b 1"}),
	)
	tbl, _ := newTable(t)
	var gotDistroFiles map[string][]byte
	res, err := Image(context.Background(), img, meta, Options{Table: tbl, detect: func(m map[string][]byte) (*model.Distro, error) {
		gotDistroFiles = m
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "packages", summary(res.Packages), []string{"b@1 /b.pkgs L1"})
	if len(gotDistroFiles) != 0 {
		t.Errorf("distro files = %q, want none (hidden by opaque root)", gotDistroFiles)
	}
}

func TestImageBadLayers(t *testing.T) {
	tbl, _ := newTable(t)
	tests := []struct {
		name     string
		layers   func(t *testing.T) []v1.Layer
		lim      layer.Limits
		packages []string
		warnSubj int    // index of the layer named in the layer warning
		warning  string // substring of that warning
	}{
		{
			name: "corrupt gzip in the middle",
			layers: func(t *testing.T) []v1.Layer {
				return []v1.Layer{tarLayer(t, file{"a.pkgs", "a 1"}), newBrokenLayer(t), tarLayer(t, file{"c.pkgs", "c 1"})}
			},
			packages: []string{"a@1 /a.pkgs L0", "c@1 /c.pkgs L2"},
			warnSubj: 1,
			warning:  "walk layer",
		},
		{
			name: "traversal entries",
			layers: func(t *testing.T) []v1.Layer {
				return []v1.Layer{tarLayer(t, file{"../../evil.pkgs", "evil 1"}, file{"ok.pkgs", "ok 1"}, file{"etc/os-release", "->../../../etc/os-release"})}
			},
			packages: []string{"ok@1 /ok.pkgs L0"},
			warnSubj: 0,
			warning:  "escapes the root",
		},
		{
			name: "decompression bomb",
			layers: func(t *testing.T) []v1.Layer {
				return []v1.Layer{tarLayer(t, file{"a.pkgs", "a 1"}), tarLayer(t, file{"zeros", strings.Repeat("\x00", 1<<20)}, file{"late.pkgs", "late 1"})}
			},
			lim:      layer.Limits{MaxLayerSize: 64 << 10},
			packages: []string{"a@1 /a.pkgs L0"},
			warnSubj: 1,
			warning:  layer.ErrLayerTooLarge.Error(),
		},
		{
			name: "giant wanted file",
			layers: func(t *testing.T) []v1.Layer {
				return []v1.Layer{tarLayer(t, file{"big.pkgs", "big 1"}), tarLayer(t, file{"big.pkgs", strings.Repeat("#", 100)})}
			},
			lim:      layer.Limits{MaxFileSize: 50},
			warnSubj: 1,
			warning:  "file limit",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, meta := buildImage(t, tc.layers(t)...)
			res, err := Image(context.Background(), img, meta, Options{Table: tbl, Limits: tc.lim, Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			equalStrings(t, "packages", summary(res.Packages), tc.packages)
			if len(res.Warnings) != 1 {
				t.Fatalf("warnings = %+v, want 1", res.Warnings)
			}
			w := res.Warnings[0]
			if w.Stage != "layer" || w.Subject != meta[tc.warnSubj].Digest || !strings.Contains(w.Message, tc.warning) {
				t.Errorf("warning = %+v, want layer warning on %s containing %q", w, meta[tc.warnSubj].Digest, tc.warning)
			}
		})
	}
}

func TestImageCatalogErrors(t *testing.T) {
	img, meta := buildImage(t, tarLayer(t,
		file{"bad.pkgs", "!error"},
		file{"boom.pkgs", "!panic"},
		file{"good.pkgs", "g 1"},
	))
	tbl, _ := newTable(t)
	res, err := Image(context.Background(), img, meta, Options{Table: tbl})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "packages", summary(res.Packages), []string{"g@1 /good.pkgs L0"})
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.Stage+" "+w.Subject+" "+w.Message)
	}
	equalStrings(t, "warnings", got, []string{
		"catalog /bad.pkgs fake: bad fake file",
		"catalog /boom.pkgs fake: cataloger panicked: fake cataloger exploded",
	})
}

func TestImageCache(t *testing.T) {
	img, meta := buildImage(t,
		tarLayer(t, file{"a.pkgs", "a 1"}, file{"etc/os-release", "ID=x"}),
		tarLayer(t, file{"b.pkgs", "b 1"}, file{".wh.a.pkgs", ""}),
	)
	dir := t.TempDir()
	tbl, fc := newTable(t)
	o := Options{Table: tbl, Cache: DirCache(dir)}
	first, err := Image(context.Background(), img, meta, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("first run: %d Parse calls, want 2", n)
	}
	second, err := Image(context.Background(), img, meta, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 2 {
		t.Fatalf("second run: %d Parse calls, want still 2 (cache hit)", n)
	}
	equalStrings(t, "cached packages", summary(second.Packages), summary(first.Packages))
	equalStrings(t, "packages", summary(first.Packages), []string{"b@1 /b.pkgs L1"})

	// Corrupt every entry: they become misses and are recomputed.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("cache holds %d entries, want 2", len(entries))
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		b, _ := os.ReadFile(p)
		b[len(b)-2] ^= 0xff
		os.WriteFile(p, b, 0o644)
	}
	third, err := Image(context.Background(), img, meta, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := fc.calls.Load(); n != 4 {
		t.Fatalf("after corruption: %d Parse calls, want 4", n)
	}
	equalStrings(t, "recomputed packages", summary(third.Packages), summary(first.Packages))

	// A different table fingerprint must not reuse the entries.
	other, _ := catalog.NewTable(&fakeCataloger{}, &namedCataloger{fakeCataloger{}, "other"})
	if cacheKey("sha256:x", other, layer.Limits{}) == cacheKey("sha256:x", tbl, layer.Limits{}) {
		t.Error("cache key ignores the table fingerprint")
	}
	if cacheKey("sha256:x", tbl, layer.Limits{MaxFileSize: 1}) == cacheKey("sha256:x", tbl, layer.Limits{}) {
		t.Error("cache key ignores the limits")
	}
}

type namedCataloger struct {
	fakeCataloger
	name string
}

func (n *namedCataloger) Name() string { return n.name }

func TestImageNeedsTable(t *testing.T) {
	if _, err := Image(context.Background(), empty.Image, nil, Options{}); err == nil {
		t.Fatal("Image without a table succeeded")
	}
}

func TestImageCancelled(t *testing.T) {
	img, meta := buildImage(t, tarLayer(t, file{"a.pkgs", "a 1"}))
	tbl, _ := newTable(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Image(ctx, img, meta, Options{Table: tbl}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDir(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret.pkgs"), []byte("secret 1"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "var/lib/fake"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "app"), 0o755))
	must(os.WriteFile(filepath.Join(root, "var/lib/fake/status"), []byte("libc 1\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "app/big.pkgs"), []byte(strings.Repeat("#", 200)), 0o644))
	must(os.WriteFile(filepath.Join(root, "app/bad.pkgs"), []byte("!error"), 0o644))
	must(os.Symlink(filepath.Join(outside, "secret.pkgs"), filepath.Join(root, "app/link.pkgs")))
	must(os.Symlink(outside, filepath.Join(root, "linkdir")))

	tbl, _ := newTable(t)
	res, err := Dir(context.Background(), root, Options{Table: tbl, Limits: layer.Limits{MaxFileSize: 100}})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "packages", summary(res.Packages), []string{"libc@1 /var/lib/fake/status -"})
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.Stage+" "+w.Subject)
	}
	equalStrings(t, "warnings", got, []string{"layer " + root, "catalog /app/bad.pkgs"})

	if _, err := Dir(context.Background(), filepath.Join(root, "missing"), Options{Table: tbl}); err == nil {
		t.Error("Dir of a missing directory succeeded")
	}
}

func BenchmarkImage(b *testing.B) {
	var layers []v1.Layer
	for i := range 8 {
		var files []file
		for j := range 200 {
			files = append(files, file{fmt.Sprintf("usr/share/doc/%d/%d.txt", i, j), strings.Repeat("x", 4096)})
		}
		var status strings.Builder
		for k := range 300 + i*10 {
			fmt.Fprintf(&status, "pkg%d %d.0\n", k, k%7)
		}
		files = append(files, file{"var/lib/fake/status", status.String()}, file{fmt.Sprintf("app/%d.pkgs", i), "x 1"})
		layers = append(layers, tarLayer(b, files...))
	}
	img, meta := buildImage(b, layers...)
	tbl, _ := newTable(b)
	b.ResetTimer()
	for b.Loop() {
		res, err := Image(context.Background(), img, meta, Options{Table: tbl})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Packages) != 370+8 {
			b.Fatalf("%d packages", len(res.Packages))
		}
	}
}

// TestImageDiffIDMismatch: a layer whose content does not hash to the diffID
// its config claims is refused with a warning and never cached, so an image
// cannot borrow a popular base layer's clean cached result.
func TestImageDiffIDMismatch(t *testing.T) {
	tbl, _ := newTable(t)
	good := tarLayer(t, file{"a.pkgs", "alpha 1\n"})
	evil := tarLayer(t, file{"b.pkgs", "hidden 6.6.6\n"})
	img, meta := buildImage(t, good, evil)
	// The config claims the evil layer is the good one.
	goodID, _ := good.DiffID()
	meta[1].DiffID = goodID.String()
	cache := DirCache(t.TempDir())
	res, err := Image(context.Background(), img, meta, Options{Table: tbl, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range res.Warnings {
		if w.Stage == "layer" && strings.Contains(w.Message, "does not match its diffID") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no diffID mismatch warning: %+v", res.Warnings)
	}
	for _, p := range res.Packages {
		if p.Name == "hidden" {
			t.Errorf("package from a refused layer reported: %+v", p)
		}
	}
}
