package image

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const refNameAnnotation = "org.opencontainers.image.ref.name"

// selectImage picks one image manifest from an index's descriptors.
// Nested indexes are expanded one level through expand. A lone image is
// taken unless the caller asked for a platform it is known not to have;
// several images are narrowed by platform, and any ambiguity is an error
// naming the choices.
func selectImage(descs []v1.Descriptor, want v1.Platform, explicit bool,
	expand func(v1.Descriptor) ([]v1.Descriptor, error),
) (v1.Descriptor, error) {
	var images []v1.Descriptor
	for _, d := range descs {
		if d.MediaType.IsIndex() {
			if expand == nil {
				continue
			}
			children, err := expand(d)
			if err != nil {
				return v1.Descriptor{}, fmt.Errorf("read nested index %s: %w", d.Digest, err)
			}
			for _, c := range children {
				if c.MediaType.IsImage() || c.MediaType == "" {
					if c.Annotations == nil && d.Annotations != nil {
						c.Annotations = d.Annotations
					}
					images = append(images, c)
				}
			}
			continue
		}
		if d.MediaType.IsImage() || d.MediaType == "" {
			images = append(images, d)
		}
	}
	// Attestation manifests (buildx) carry platform unknown/unknown.
	real := images[:0:0]
	for _, d := range images {
		if d.Platform != nil && d.Platform.OS == "unknown" {
			continue
		}
		real = append(real, d)
	}
	images = real

	switch len(images) {
	case 0:
		return v1.Descriptor{}, fmt.Errorf("index holds no image manifest")
	case 1:
		d := images[0]
		if explicit && d.Platform != nil && !d.Platform.Satisfies(want) {
			return v1.Descriptor{}, fmt.Errorf("no image for platform %s; available: %s", want.String(), describeChoices(images))
		}
		return d, nil
	}
	var match []v1.Descriptor
	for _, d := range images {
		if d.Platform != nil && d.Platform.Satisfies(want) {
			match = append(match, d)
		}
	}
	switch len(match) {
	case 0:
		return v1.Descriptor{}, fmt.Errorf("no image for platform %s; available: %s", want.String(), describeChoices(images))
	case 1:
		return match[0], nil
	}
	return v1.Descriptor{}, fmt.Errorf("%d images match platform %s: %s", len(match), want.String(), describeChoices(match))
}

func describeChoices(ds []v1.Descriptor) string {
	var out []string
	for _, d := range ds {
		s := "unknown platform"
		if d.Platform != nil {
			s = d.Platform.String()
		}
		if n := d.Annotations[refNameAnnotation]; n != "" {
			s = n + " (" + s + ")"
		}
		out = append(out, s+" "+d.Digest.String())
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
