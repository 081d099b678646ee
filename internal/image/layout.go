package image

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Layout opens an image from an OCI image layout directory. When the
// layout's index holds several images, o.Platform picks one, and an
// ambiguous choice is an error naming the candidates.
func Layout(ctx context.Context, dir string, o Options) (*Opened, error) {
	o.normalise()
	want, explicit, err := o.platform()
	if err != nil {
		return nil, err
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("open OCI layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout index %s: %w", dir, err)
	}
	// holder remembers which nested index listed each image.
	holder := map[v1.Hash]v1.ImageIndex{}
	chosen, err := selectImage(im.Manifests, want, explicit, func(d v1.Descriptor) ([]v1.Descriptor, error) {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		cm, err := child.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, c := range cm.Manifests {
			holder[c.Digest] = child
		}
		return cm.Manifests, nil
	})
	if err != nil {
		return nil, fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	from, ok := holder[chosen.Digest]
	if !ok {
		from = idx
	}
	img, err := from.Image(chosen.Digest)
	if err != nil {
		return nil, fmt.Errorf("open image %s in OCI layout %s: %w", chosen.Digest, dir, err)
	}
	out := &Opened{Image: img, Info: ociInfo(dir, "oci-layout", chosen)}
	if err := describe(img, &out.Info, true); err != nil {
		return nil, fmt.Errorf("describe image in OCI layout %s: %w", dir, err)
	}
	o.Logger.DebugContext(ctx, "opened OCI layout image", "dir", dir, "digest", out.Info.Digest)
	return out, nil
}

// ociInfo starts the description of an image chosen from an OCI index; the
// ref.name annotation, when present, is the image's tag.
func ociInfo(ref, source string, d v1.Descriptor) model.ImageInfo {
	info := model.ImageInfo{Reference: ref, Source: source, Digest: d.Digest.String()}
	if n := d.Annotations[refNameAnnotation]; n != "" {
		info.RepoTags = []string{n}
	}
	return info
}
