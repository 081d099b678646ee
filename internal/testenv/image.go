package testenv

import (
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DebianImageTarball writes the real Debian test image (debootstrap
// minbase, one layer) as a docker-save tarball tagged
// registry.example/team/debian:12, and returns its path.
func DebianImageTarball(t testing.TB) string {
	t.Helper()
	layer, err := tarball.LayerFromFile(DebianRootfs(t, "bookworm-minbase"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{Architecture: "amd64", OS: "linux"})
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "debootstrap --variant=minbase bookworm"}})
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("registry.example/team/debian:12")
	p := filepath.Join(t.TempDir(), "debian.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return p
}
