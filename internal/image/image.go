package image

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Options configure how an image is opened. The zero value works.
type Options struct {
	// Platform ("os/arch[/variant]") picks the image from a multi-platform
	// index; default linux/<runtime.GOARCH>.
	Platform string
	// Insecure allows plain HTTP and skips TLS verification. Loopback
	// registries (127.0.0.0/8, localhost, [::1]) always allow plain HTTP.
	Insecure bool
	// Keychain supplies registry credentials; default authn.DefaultKeychain
	// (Docker config and credential helpers).
	Keychain authn.Keychain
	// DockerHost is the engine address; default DOCKER_HOST, else
	// unix:///var/run/docker.sock.
	DockerHost string
	Logger     *slog.Logger
}

// Opened is an image ready to analyse, with what is known about it.
type Opened struct {
	Image v1.Image
	Info  model.ImageInfo
	// read opens a layer's uncompressed stream when the source knows a
	// better way than Uncompressed (layers stored uncompressed).
	read func(v1.Layer) (io.ReadCloser, error)
	// cleanup releases what the source holds (a saved archive).
	cleanup func() error
}

// LayerReader returns how this image's layers are best read as
// uncompressed tar streams (see Uncompressed).
func (o *Opened) LayerReader() func(v1.Layer) (io.ReadCloser, error) {
	if o.read != nil {
		return o.read
	}
	return Uncompressed
}

// Close releases what the source holds, such as the temporary archive of
// an image saved from the Docker engine.
func (o *Opened) Close() error {
	if o == nil || o.cleanup == nil {
		return nil
	}
	err := o.cleanup()
	o.cleanup = nil
	return err
}

func (o *Options) normalise() {
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// platform returns the wanted platform and whether the caller chose it.
func (o *Options) platform() (v1.Platform, bool, error) {
	if o.Platform == "" {
		return v1.Platform{OS: "linux", Architecture: runtime.GOARCH}, false, nil
	}
	p, err := v1.ParsePlatform(o.Platform)
	if err != nil {
		return v1.Platform{}, true, fmt.Errorf("parse platform %q: %w", o.Platform, err)
	}
	return *p, true, nil
}

// describe fills the fields of info that the image itself knows. Digest is
// left to the caller, which knows whether a manifest digest is meaningful.
// withDigests says whether layer (compressed) digests are cheap to get;
// for Docker engine images they would mean compressing every layer.
func describe(img v1.Image, info *model.ImageInfo, withDigests bool) error {
	cfgName, err := img.ConfigName()
	if err != nil {
		return fmt.Errorf("image config digest: %w", err)
	}
	info.ConfigDigest = cfgName.String()
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	if !cfg.Created.IsZero() {
		info.Created = cfg.Created.UTC().Format(time.RFC3339)
	}
	info.Platform = platformString(cfg.OS, cfg.Architecture, cfg.Variant)

	var digests []string
	if withDigests {
		m, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("image manifest: %w", err)
		}
		info.Size = m.Config.Size
		for _, l := range m.Layers {
			digests = append(digests, l.Digest.String())
			info.Size += l.Size
		}
	}
	info.Layers = describeLayers(cfg, digests)
	return nil
}

func platformString(os, arch, variant string) string {
	if os == "" && arch == "" {
		return ""
	}
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
}

// describeLayers pairs the config's diffIDs with its history (skipping
// empty-layer entries) and the manifest's digests when given.
func describeLayers(cfg *v1.ConfigFile, digests []string) []model.Layer {
	diffIDs := cfg.RootFS.DiffIDs
	layers := make([]model.Layer, len(diffIDs))
	var created []string
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			created = append(created, h.CreatedBy)
		}
	}
	// History is optional and sometimes shorter than the layer list; pair
	// only when the counts agree, so no layer gets another's command.
	pairHistory := len(created) == len(diffIDs)
	base := baseLayerCount(cfg.History)
	for i, d := range diffIDs {
		layers[i] = model.Layer{Index: i, DiffID: d.String(), Base: pairHistory && i < base}
		if pairHistory {
			layers[i].CreatedBy = strings.TrimSpace(created[i])
		}
		if i < len(digests) {
			layers[i].Digest = digests[i]
		}
	}
	return layers
}

// baseLayerCount says how many of the first layers belong to the base image.
// A Dockerfile's final CMD/ENTRYPOINT leaves an empty-layer history entry, so
// the last such entry that is followed by a non-empty layer marks where the
// base image ended. Without one, nothing is known to be base.
func baseLayerCount(history []v1.History) int {
	nonEmpty := 0         // non-empty layers seen so far
	base := 0             // layers before the best boundary found
	pendingBoundary := -1 // layer count at the last CMD/ENTRYPOINT not yet confirmed
	for _, h := range history {
		if h.EmptyLayer {
			if isCmdOrEntrypoint(h.CreatedBy) {
				pendingBoundary = nonEmpty
			}
			continue
		}
		nonEmpty++
		if pendingBoundary >= 0 {
			base = pendingBoundary
			pendingBoundary = -1
		}
	}
	return base
}

func isCmdOrEntrypoint(createdBy string) bool {
	s := strings.TrimSpace(createdBy)
	// Docker's classic builder writes "/bin/sh -c #(nop)  CMD [...]";
	// BuildKit writes "CMD [...]" (possibly after a shell prefix).
	s = strings.TrimPrefix(s, "/bin/sh -c ")
	s = strings.TrimSpace(strings.TrimPrefix(s, "#(nop)"))
	return strings.HasPrefix(s, "CMD") || strings.HasPrefix(s, "ENTRYPOINT")
}

// CheckPlatform fails when the caller chose a platform (--platform) and
// the opened image is another one: an archive, layout or engine image of
// one platform is otherwise taken as it is.
func CheckPlatform(info model.ImageInfo, o Options) error {
	want, explicit, err := o.platform()
	if err != nil || !explicit || info.Platform == "" {
		return err
	}
	got, err := v1.ParsePlatform(info.Platform)
	if err != nil {
		return nil // an image config without a usable platform: nothing to compare
	}
	if got.Satisfies(want) {
		return nil
	}
	return fmt.Errorf("%s is a %s image, not %s as --platform asks; it holds no other platform", info.Reference, info.Platform, want.String())
}
