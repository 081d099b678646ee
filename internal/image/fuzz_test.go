package image

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/")

// seedArchives are small docker-save and OCI archives, plus broken ones.
func seedArchives(t *testing.T) map[string][]byte {
	t.Helper()
	var docker bytes.Buffer
	tag, _ := name.NewTag("seed:1")
	if err := tarball.Write(tag, testImage(t, "linux/amd64"), &docker); err != nil {
		t.Fatal(err)
	}
	dir, _ := multiLayout(t)
	p := filepath.Join(t.TempDir(), "oci.tar")
	tarDir(t, dir, p)
	oci, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"docker-save":           docker.Bytes(),
		"oci-archive":           oci,
		"docker-save-truncated": docker.Bytes()[:docker.Len()/2],
		"oci-archive-truncated": oci[:len(oci)/3],
	}
}

func TestWriteFuzzCorpus(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite testdata/fuzz/FuzzTarball")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzTarball")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, b := range seedArchives(t) {
		if err := os.WriteFile(filepath.Join(dir, n), fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzTarball feeds arbitrary bytes as an image archive: Tarball and reading
// the image's metadata must fail cleanly, never panic.
func FuzzTarball(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "a.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := Tarball(context.Background(), p, Options{})
		if err != nil {
			return
		}
		ls, err := o.Image.Layers()
		if err != nil {
			return
		}
		for _, l := range ls {
			if rc, err := l.Uncompressed(); err == nil {
				rc.Close()
			}
		}
	})
}
