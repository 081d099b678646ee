package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"github.com/bulwarkdev/bulwark/internal/model"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func hist(entries ...string) []v1.History {
	var out []v1.History
	for _, e := range entries {
		empty := strings.HasPrefix(e, "0:")
		out = append(out, v1.History{CreatedBy: strings.TrimPrefix(strings.TrimPrefix(e, "0:"), "1:"), EmptyLayer: empty})
	}
	return out
}

func TestBaseLayerCount(t *testing.T) {
	tests := []struct {
		name    string
		history []v1.History
		want    int
	}{
		{"no history", nil, 0},
		{"no CMD at all", hist("1:ADD rootfs", "1:RUN apt-get install"), 0},
		{"classic builder base then build", hist("1:/bin/sh -c #(nop) ADD file:abc in /", "0:/bin/sh -c #(nop)  CMD [\"bash\"]", "1:/bin/sh -c apt-get install -y curl", "1:COPY app /app"), 1},
		{"buildkit base with ENTRYPOINT", hist("1:ADD rootfs /", "1:RUN setup", "0:ENTRYPOINT [\"/init\"]", "0:ENV X=1", "1:COPY . /app", "0:CMD [\"/app\"]"), 2},
		{"trailing CMD only: the image itself, no base known", hist("1:ADD rootfs /", "1:RUN x", "0:CMD [\"sh\"]"), 0},
		{"two-stage base (base of base)", hist("1:ADD rootfs /", "0:CMD [\"sh\"]", "1:RUN a", "0:CMD [\"python\"]", "1:COPY app /app", "0:CMD [\"app\"]"), 2},
		{"CMD followed only by empty layers is not a boundary", hist("1:ADD rootfs /", "0:CMD [\"sh\"]", "0:LABEL a=b"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := baseLayerCount(tc.history); got != tc.want {
				t.Errorf("baseLayerCount = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDescribeLayers(t *testing.T) {
	d := func(s string) v1.Hash { return v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(s, 64)} }
	cfg := &v1.ConfigFile{
		RootFS:  v1.RootFS{DiffIDs: []v1.Hash{d("a"), d("b")}},
		History: hist("1:ADD rootfs /", "0:CMD [\"sh\"]", "0:ENV A=1", "1:COPY x /x"),
	}
	got := describeLayers(cfg, []string{"sha256:111", "sha256:222"})
	if len(got) != 2 || got[0].CreatedBy != "ADD rootfs /" || !got[0].Base || got[1].CreatedBy != "COPY x /x" || got[1].Base ||
		got[1].Digest != "sha256:222" || got[1].DiffID != d("b").String() || got[1].Index != 1 {
		t.Fatalf("describeLayers = %+v", got)
	}
	// A history that does not pair up with the layers is not guessed at.
	cfg.History = cfg.History[:1]
	got = describeLayers(cfg, nil)
	if got[0].CreatedBy != "" || got[0].Base || got[0].Digest != "" {
		t.Fatalf("unpaired describeLayers = %+v", got)
	}
}

// testImage builds a two-layer image for platform os/arch with a Dockerfile-like history.
func testImage(t *testing.T, platform string) v1.Image {
	t.Helper()
	mk := func(files map[string]string) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for n, b := range files {
			tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
			io.WriteString(tw, b)
		}
		tw.Close()
		data := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	img, err := mutate.Append(empty.Image,
		mutate.Addendum{Layer: mk(map[string]string{"etc/os-release": "ID=test\n" + platform}), History: v1.History{CreatedBy: "ADD rootfs /"}},
		mutate.Addendum{History: v1.History{CreatedBy: "CMD [\"sh\"]", EmptyLayer: true}},
		mutate.Addendum{Layer: mk(map[string]string{"app/x": "x"}), History: v1.History{CreatedBy: "COPY x /app/x"}},
	)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := v1.ParsePlatform(platform)
	cfg, _ := img.ConfigFile()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Created = v1.Time{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// checkInfo asserts what every source must report for testImage.
func checkInfo(t *testing.T, o *Opened, platform string, withDigests bool) {
	t.Helper()
	info := o.Info
	cfgName, _ := o.Image.ConfigName()
	if info.ConfigDigest != cfgName.String() || info.Platform != platform || info.Created != "2026-01-02T03:04:05Z" {
		t.Errorf("info = %+v", info)
	}
	if len(info.Layers) != 2 {
		t.Fatalf("layers = %+v", info.Layers)
	}
	ls, _ := o.Image.Layers()
	for i, l := range info.Layers {
		diffID, _ := ls[i].DiffID()
		if l.Index != i || l.DiffID != diffID.String() {
			t.Errorf("layer %d = %+v, want diffID %s", i, l, diffID)
		}
		if withDigests {
			dg, _ := ls[i].Digest()
			if l.Digest != dg.String() {
				t.Errorf("layer %d digest = %q, want %s", i, l.Digest, dg)
			}
		}
	}
	if info.Layers[0].CreatedBy != "ADD rootfs /" || !info.Layers[0].Base || info.Layers[1].CreatedBy != "COPY x /app/x" || info.Layers[1].Base {
		t.Errorf("layers = %+v", info.Layers)
	}
	if info.Size <= 0 {
		t.Errorf("size = %d", info.Size)
	}
}

func TestTarballDockerSave(t *testing.T) {
	img := testImage(t, "linux/arm64")
	tag, _ := name.NewTag("example.com/team/app:1.0")
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	o, err := Tarball(context.Background(), p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.Info.Source != "tarball" || o.Info.Reference != p || len(o.Info.RepoTags) != 1 || o.Info.RepoTags[0] != "example.com/team/app:1.0" || o.Info.Digest != "" {
		t.Errorf("info = %+v", o.Info)
	}
	checkInfo(t, o, "linux/arm64", false)
}

func TestTarballDockerSaveMultiImage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img.tar")
	t1, _ := name.NewTag("a:1")
	t2, _ := name.NewTag("b:2")
	if err := tarball.MultiWriteToFile(p, map[name.Tag]v1.Image{t1: testImage(t, "linux/amd64"), t2: testImage(t, "linux/arm64")}); err != nil {
		t.Fatal(err)
	}
	_, err := Tarball(context.Background(), p, Options{})
	if err == nil || !strings.Contains(err.Error(), "a:1") || !strings.Contains(err.Error(), "b:2") || !strings.Contains(err.Error(), "2 images") {
		t.Fatalf("err = %v, want it to name both images", err)
	}
}

// multiLayout writes an OCI layout holding one index with two platforms.
func multiLayout(t *testing.T) (string, map[string]v1.Hash) {
	t.Helper()
	dir := t.TempDir()
	digests := map[string]v1.Hash{}
	var adds []mutate.IndexAddendum
	for _, plat := range []string{"linux/amd64", "linux/arm/v7"} {
		img := testImage(t, plat)
		p, _ := v1.ParsePlatform(plat)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: p}})
		digests[plat], _ = img.Digest()
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
	return dir, digests
}

func TestLayout(t *testing.T) {
	dir, digests := multiLayout(t)
	tests := []struct {
		platform string
		wantErr  string
	}{
		{platform: "linux/amd64"},
		{platform: "linux/arm/v7"},
		{platform: "linux/arm"},
		{platform: "windows/amd64", wantErr: "available: linux/amd64 sha256:"},
		{platform: "linux/s390x", wantErr: "linux/arm/v7"},
		{platform: "not a/platform/at/all", wantErr: "parse platform"},
	}
	for _, tc := range tests {
		t.Run(tc.platform, func(t *testing.T) {
			o, err := Layout(context.Background(), dir, Options{Platform: tc.platform})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.platform
			if want == "linux/arm" {
				want = "linux/arm/v7"
			}
			if o.Info.Source != "oci-layout" || o.Info.Digest != digests[want].String() {
				t.Errorf("info = %+v, want digest %s", o.Info, digests[want])
			}
			checkInfo(t, o, want, true)
		})
	}
}

func TestLayoutSingleImageAnyPlatform(t *testing.T) {
	dir := t.TempDir()
	img := testImage(t, "linux/riscv64")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{refNameAnnotation: "app:1"})); err != nil {
		t.Fatal(err)
	}
	o, err := Layout(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Info.RepoTags) != 1 || o.Info.RepoTags[0] != "app:1" {
		t.Errorf("repo tags = %v", o.Info.RepoTags)
	}
	checkInfo(t, o, "linux/riscv64", true)

	// Two untagged images with no platform in the index: ambiguous.
	if err := lp.AppendImage(testImage(t, "linux/amd64"), layout.WithAnnotations(map[string]string{refNameAnnotation: "other:2"})); err != nil {
		t.Fatal(err)
	}
	if _, err := Layout(context.Background(), dir, Options{}); err == nil || !strings.Contains(err.Error(), "app:1") || !strings.Contains(err.Error(), "other:2") {
		t.Fatalf("err = %v, want it to name app:1 and other:2", err)
	}
	if _, err := Layout(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Fatal("Layout of a missing dir succeeded")
	}
}

// tarDir writes dir as an uncompressed tar (an OCI archive).
func tarDir(t *testing.T, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTarballOCIArchive(t *testing.T) {
	dir, digests := multiLayout(t)
	p := filepath.Join(t.TempDir(), "oci.tar")
	tarDir(t, dir, p)
	o, err := Tarball(context.Background(), p, Options{Platform: "linux/arm/v7"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Info.Source != "tarball" || o.Info.Digest != digests["linux/arm/v7"].String() {
		t.Errorf("info = %+v", o.Info)
	}
	checkInfo(t, o, "linux/arm/v7", true)
	// The layers read back byte for byte.
	ls, _ := o.Image.Layers()
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		want, _ := l.DiffID()
		if err != nil || h != want {
			t.Errorf("layer content digest %s, want %s (%v)", h, want, err)
		}
	}
	if _, err := Tarball(context.Background(), p, Options{Platform: "linux/ppc64le"}); err == nil || !strings.Contains(err.Error(), "available") {
		t.Fatalf("err = %v", err)
	}
}

func TestTarballBad(t *testing.T) {
	tmp := t.TempDir()
	write := func(n string, b []byte) string {
		p := filepath.Join(tmp, n)
		os.WriteFile(p, b, 0o644)
		return p
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "hello.txt", Size: 2, Mode: 0o644})
	tw.Write([]byte("hi"))
	tw.Close()
	plain := write("plain.tar", buf.Bytes())

	buf.Reset()
	tw = tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Size: 7, Mode: 0o644})
	tw.Write([]byte("{broken"))
	tw.Close()
	badManifest := write("bad.tar", buf.Bytes())

	tests := []struct {
		name, path, want string
		notArchive       bool
	}{
		{"missing", filepath.Join(tmp, "nope.tar"), "open image archive " + filepath.Join(tmp, "nope.tar") + ": no such file or directory", false},
		{"not a tar", write("junk.tar", bytes.Repeat([]byte{0xee}, 2048)), "(not a tar archive: no tar header)", true},
		{"text", write("notes.txt", []byte("hello\n")), "(not a tar archive: no tar header)", true},
		{"empty", write("empty.tar", nil), "(not a tar archive: empty)", true},
		{"gzip", write("img.tar.gz", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}), "gzip-compressed: gunzip it first", true},
		{"directory", tmp, "is a directory, not an image archive", false},
		{"plain tar", plain, "a tar without manifest.json or index.json", true},
		{"broken manifest", badManifest, "parse manifest.json", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Tarball(context.Background(), tc.path, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if errors.Is(err, ErrNotImageArchive) != tc.notArchive {
				t.Errorf("errors.Is(err, ErrNotImageArchive) = %v, want %v", !tc.notArchive, tc.notArchive)
			}
			if n := strings.Count(err.Error(), tc.path); n != 1 {
				t.Errorf("%q names the file %d times, want once", err, n)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	for reg, want := range map[string]bool{
		"localhost:5000": true, "localhost": true, "127.0.0.1:5000": true, "127.5.6.7": true,
		"[::1]:5000": true, "reg.localhost:1": true, "10.0.0.1:5000": false, "ghcr.io": false, "index.docker.io": false,
	} {
		if got := IsLoopback(reg); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", reg, got, want)
		}
	}
}

// TestCheckPlatform: an image of another platform than --platform asks is
// an error; the same platform, a variant of it, or no --platform is not.
func TestCheckPlatform(t *testing.T) {
	for _, c := range []struct {
		got, want string
		ok        bool
	}{
		{"linux/amd64", "", true},
		{"linux/amd64", "linux/amd64", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/amd64", "linux/arm64", false},
		{"", "linux/arm64", true}, // nothing known to compare
	} {
		err := CheckPlatform(model.ImageInfo{Reference: "img.tar", Platform: c.got}, Options{Platform: c.want})
		if (err == nil) != c.ok {
			t.Errorf("image %q, --platform %q: err = %v, want ok=%v", c.got, c.want, err, c.ok)
		}
	}
}
