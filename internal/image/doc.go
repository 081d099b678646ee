// Package image opens container images from a registry, the local Docker
// engine, a docker-save or OCI archive, or an OCI layout directory, and
// describes them as model.ImageInfo. go-containerregistry's v1.Image is the
// seam: the package only opens sources.
package image
