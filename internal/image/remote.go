package image

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Remote opens an image from a registry by tag or digest. For an index it
// picks o.Platform.
func Remote(ctx context.Context, ref string, o Options) (*Opened, error) {
	o.normalise()
	want, explicit, err := o.platform()
	if err != nil {
		return nil, err
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
	}
	insecure := o.Insecure || IsLoopback(r.Context().RegistryStr())
	if insecure {
		if r, err = name.ParseReference(ref, name.Insecure); err != nil {
			return nil, fmt.Errorf("parse image reference %q: %w", ref, err)
		}
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.Keychain), remote.WithPlatform(want)}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	if o.Insecure {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
		opts = append(opts, remote.WithTransport(t))
	}

	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", ref, err)
	}
	out := Opened{}
	out.Info.Reference = ref
	out.Info.Source = "registry"
	repo := r.Context().Name()
	if t, ok := r.(name.Tag); ok {
		out.Info.RepoTags = []string{t.Name()}
	}
	out.Info.RepoDigests = []string{repo + "@" + desc.Digest.String()}

	var img v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("read index manifest %s: %w", ref, err)
		}
		chosen, err := selectImage(im.Manifests, want, explicit, func(d v1.Descriptor) ([]v1.Descriptor, error) {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			cm, err := child.IndexManifest()
			if err != nil {
				return nil, err
			}
			return cm.Manifests, nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if img, err = remote.Image(r.Context().Digest(chosen.Digest.String()), opts...); err != nil {
			return nil, fmt.Errorf("fetch %s@%s: %w", repo, chosen.Digest, err)
		}
		out.Info.Digest = chosen.Digest.String()
	} else {
		if img, err = desc.Image(); err != nil {
			return nil, fmt.Errorf("read image %s: %w", ref, err)
		}
		if explicit {
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("read image config %s: %w", ref, err)
			}
			if got := cfg.Platform(); got != nil && got.OS != "" && !got.Satisfies(want) {
				return nil, fmt.Errorf("%s: no image for platform %s; available: %s", ref, want.String(), got.String())
			}
		}
		out.Info.Digest = desc.Digest.String()
	}
	if err := describe(img, &out.Info, true); err != nil {
		return nil, fmt.Errorf("describe %s: %w", ref, err)
	}
	out.Image = img
	o.Logger.DebugContext(ctx, "opened registry image", "ref", ref, "digest", out.Info.Digest, "platform", out.Info.Platform)
	return &out, nil
}

// IsLoopback reports whether a registry host[:port] is on this machine.
func IsLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
