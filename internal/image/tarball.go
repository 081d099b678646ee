package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Limits on archive metadata, so a hostile archive cannot exhaust memory.
const (
	maxArchiveEntries = 1_000_000
	maxMetadataSize   = 16 << 20 // manifest.json, index.json, manifests, configs
)

// Tarball opens an image archive: a `docker save` archive (manifest.json) or
// an OCI archive (a tar of an OCI layout, index.json). Archives that carry
// both, as recent Docker versions write, are read as docker-save archives.
func Tarball(ctx context.Context, file string, o Options) (*Opened, error) {
	o.normalise()
	f, err := os.Open(file)
	if err != nil {
		// The path error names the file already; say it once.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open image archive %s: %w", file, err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		hint := "an unpacked root filesystem? use --rootfs"
		if _, err := os.Stat(path.Join(file, "oci-layout")); err == nil {
			hint = "it is an OCI image layout: use --layout"
		}
		return nil, fmt.Errorf("%s is a directory, not an image archive (%s)", file, hint)
	}
	ar, err := indexArchive(ctx, f)
	if err != nil {
		f.Close()
		if errors.Is(err, errNotTar) {
			return nil, notArchive(file, err)
		}
		return nil, fmt.Errorf("read image archive %s: %w", file, err)
	}
	var out *Opened
	switch {
	case ar.has("manifest.json"):
		out, err = dockerArchive(file, ar)
		f.Close() // tarball.Image reopens the file as it needs it
	case ar.has("index.json"):
		out, err = ociArchive(file, ar, o) // keeps f open for the image's lifetime
		if err == nil {
			out.cleanup = f.Close
		} else {
			f.Close()
		}
	default:
		f.Close()
		return nil, notArchive(file, errors.New("a tar without manifest.json or index.json; a root filesystem? unpack it and use --rootfs"))
	}
	if err != nil {
		return nil, fmt.Errorf("image archive %s: %w", file, err)
	}
	o.Logger.DebugContext(ctx, "opened image archive", "file", file, "source", out.Info.Source, "digest", out.Info.Digest)
	return out, nil
}

// archive indexes the regular files of an uncompressed tar so that each can
// be read in place.
type archive struct {
	f       *os.File
	entries map[string]section
}

type section struct{ off, size int64 }

func (a *archive) has(p string) bool { _, ok := a.entries[p]; return ok }

// compressed reports whether the member starts with a gzip or zstd magic.
func (a *archive) compressed(p string) bool {
	r, _, err := a.open(p)
	if err != nil {
		return true // let the image reader report it
	}
	var magic [4]byte
	n, _ := io.ReadFull(r, magic[:])
	return (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) ||
		(n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd})
}

func (a *archive) open(p string) (io.Reader, int64, error) {
	s, ok := a.entries[p]
	if !ok {
		return nil, 0, fmt.Errorf("%s: not in archive", p)
	}
	return io.NewSectionReader(a.f, s.off, s.size), s.size, nil
}

func (a *archive) readSmall(p string) ([]byte, error) {
	r, size, err := a.open(p)
	if err != nil {
		return nil, err
	}
	if size > maxMetadataSize {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %d-byte metadata limit", p, size, maxMetadataSize)
	}
	return io.ReadAll(r)
}

func indexArchive(ctx context.Context, f *os.File) (*archive, error) {
	a := &archive{f: f, entries: map[string]section{}}
	tr := tar.NewReader(f)
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if n > maxArchiveEntries {
			return nil, fmt.Errorf("more than %d entries", maxArchiveEntries)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			if n == 0 {
				return nil, fmt.Errorf("%w: empty", errNotTar)
			}
			return a, nil
		}
		if err != nil {
			if n == 0 {
				// Not even one header: not a tar at all (a text file, a
				// compressed archive).
				return nil, fmt.Errorf("%w: %s", errNotTar, sniff(f))
			}
			return nil, fmt.Errorf("read tar entry %d: %w (truncated or damaged archive?)", n+1, err)
		}
		if hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA { //nolint:staticcheck // old archives
			continue
		}
		// archive/tar reads headers and content in place, so after Next the
		// file offset is where this entry's content starts.
		off, err := f.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, fmt.Errorf("locate %s: %w", hdr.Name, err)
		}
		a.entries[path.Clean(strings.TrimPrefix(hdr.Name, "./"))] = section{off: off, size: hdr.Size}
	}
}

// ErrNotImageArchive is what an --input that is not an image archive
// gives (errors.Is), whatever else the file is.
var ErrNotImageArchive = errors.New("not an image archive")

var errNotTar = errors.New("not a tar archive")

func notArchive(file string, why error) error {
	return fmt.Errorf("%s is %w (%v); want a \"docker save\" tarball or an OCI archive", file, ErrNotImageArchive, why)
}

// sniff names what a file that is not a tar starts as, so the error can
// say what to do with it.
func sniff(f *os.File) string {
	var b [4]byte
	n, _ := f.ReadAt(b[:], 0)
	switch {
	case n >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		return "gzip-compressed: gunzip it first"
	case n == 4 && b == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		return "zstd-compressed: unzstd it first"
	case n == 0:
		return "empty"
	}
	return "no tar header"
}

type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func dockerArchive(file string, ar *archive) (*Opened, error) {
	raw, err := ar.readSmall("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("parse manifest.json: %w", err)
	}
	switch len(entries) {
	case 0:
		return nil, errors.New("manifest.json lists no image")
	case 1:
	default:
		var names []string
		for _, e := range entries {
			names = append(names, strings.Join(e.RepoTags, "|")+" ("+e.Config+")")
		}
		return nil, fmt.Errorf("archive holds %d images, only single-image archives are supported: %s", len(entries), strings.Join(names, ", "))
	}
	e := entries[0]
	var tag *name.Tag
	if len(e.RepoTags) > 0 {
		t, err := name.NewTag(e.RepoTags[0])
		if err == nil {
			tag = &t
		}
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return os.Open(file) }, tag)
	if err != nil {
		return nil, fmt.Errorf("read docker archive: %w", err)
	}
	out := &Opened{Image: img}
	out.Info.Reference = file
	out.Info.Source = "tarball"
	out.Info.RepoTags = e.RepoTags
	// go-containerregistry presents uncompressed archive layers as gzip
	// blobs by compressing them on the fly; read those as they are stored.
	if len(e.Layers) > 0 && !ar.compressed(path.Clean(e.Layers[0])) {
		out.read = v1.Layer.Uncompressed
	}
	// Layers are usually stored uncompressed here; their registry digests
	// would need compressing every layer, so they are left out.
	if err := describe(img, &out.Info, false); err != nil {
		return nil, err
	}
	for _, p := range append([]string{e.Config}, e.Layers...) {
		if s, ok := ar.entries[path.Clean(p)]; ok {
			out.Info.Size += s.size
		}
	}
	return out, nil
}

func ociArchive(file string, ar *archive, o Options) (*Opened, error) {
	want, explicit, err := o.platform()
	if err != nil {
		return nil, err
	}
	raw, err := ar.readSmall("index.json")
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse index.json: %w", err)
	}
	chosen, err := selectImage(im.Manifests, want, explicit, func(d v1.Descriptor) ([]v1.Descriptor, error) {
		b, err := ar.blob(d.Digest)
		if err != nil {
			return nil, err
		}
		child, err := v1.ParseIndexManifest(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return child.Manifests, nil
	})
	if err != nil {
		return nil, err
	}
	manifest, err := ar.blob(chosen.Digest)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	core := &archiveImage{ar: ar, manifest: manifest, mediaType: chosen.MediaType}
	m, err := v1.ParseManifest(bytes.NewReader(manifest))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", chosen.Digest, err)
	}
	if core.mediaType == "" {
		core.mediaType = m.MediaType
	}
	if core.config, err = ar.blob(m.Config.Digest); err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	img, err := partial.CompressedToImage(core)
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", chosen.Digest, err)
	}
	out := &Opened{Image: img, Info: ociInfo(file, "tarball", chosen)}
	if err := describe(img, &out.Info, true); err != nil {
		return nil, err
	}
	return out, nil
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }

// blob reads a small blob (manifest, index, config) and checks its digest.
func (a *archive) blob(h v1.Hash) ([]byte, error) {
	b, err := a.readSmall(blobPath(h))
	if err != nil {
		return nil, err
	}
	got, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if h.Algorithm == "sha256" && got != h {
		return nil, fmt.Errorf("blob %s has digest %s", h, got)
	}
	return b, nil
}

// archiveImage is an image inside an OCI archive, read in place.
type archiveImage struct {
	ar        *archive
	manifest  []byte
	config    []byte
	mediaType types.MediaType
}

func (i *archiveImage) RawConfigFile() ([]byte, error)      { return i.config, nil }
func (i *archiveImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *archiveImage) RawManifest() ([]byte, error)        { return i.manifest, nil }

func (i *archiveImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &archiveLayer{ar: i.ar, desc: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			if !i.ar.has(blobPath(h)) {
				return nil, fmt.Errorf("layer %s: blob missing from archive", h)
			}
			return &archiveLayer{ar: i.ar, desc: l}, nil
		}
	}
	return nil, fmt.Errorf("layer %s: not in manifest", h)
}

type archiveLayer struct {
	ar   *archive
	desc v1.Descriptor
}

func (l *archiveLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *archiveLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *archiveLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *archiveLayer) Compressed() (io.ReadCloser, error) {
	r, _, err := l.ar.open(blobPath(l.desc.Digest))
	if err != nil {
		return nil, err
	}
	return io.NopCloser(r), nil
}
