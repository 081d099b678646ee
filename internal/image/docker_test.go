package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needDocker(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		testenv.Skipf(t, "needs a Docker engine at /var/run/docker.sock")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Skipf(t, "needs the docker CLI")
	}
	if out, err := exec.Command("docker", "version").CombinedOutput(); err != nil {
		testenv.Skipf(t, "docker engine not usable: %v: %s", err, out)
	}
}

func docker(t *testing.T, stdin io.Reader, args ...string) {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Stdin = stdin
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func importTestImage(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: 8, Typeflag: tar.TypeReg})
	tw.Write([]byte("ID=test\n"))
	tw.Close()
	tag := fmt.Sprintf("bulwark-test/import:%d", time.Now().UnixNano())
	docker(t, &buf, "import", "-", tag)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	return tag
}

func TestDockerImport(t *testing.T) {
	needDocker(t)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: 8, Typeflag: tar.TypeReg})
	tw.Write([]byte("ID=test\n"))
	tw.Close()
	tag := fmt.Sprintf("bulwark-test/import:%d", time.Now().UnixNano())
	docker(t, &buf, "import", "-", tag)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	o, err := Docker(context.Background(), tag, Options{})
	t.Cleanup(func() { o.Close() })
	if err != nil {
		t.Fatal(err)
	}
	if o.Info.Source != "docker" || len(o.Info.RepoTags) != 1 || o.Info.RepoTags[0] != tag || !strings.HasPrefix(o.Info.ConfigDigest, "sha256:") {
		t.Errorf("info = %+v", o.Info)
	}
	if len(o.Info.Layers) != 1 || o.Info.Layers[0].Base {
		t.Fatalf("layers = %+v", o.Info.Layers)
	}
	ls, err := o.Image.Layers()
	if err != nil || len(ls) != 1 {
		t.Fatalf("Layers = %d, %v", len(ls), err)
	}
	rc, err := ls[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if strings.TrimPrefix(h.Name, "./") == "etc/os-release" {
			b, _ := io.ReadAll(tr)
			found = string(b) == "ID=test\n"
		}
	}
	if !found {
		t.Error("layer read from the engine lacks etc/os-release")
	}

	if _, err := Docker(context.Background(), "bulwark-test/never-created:0", Options{}); err == nil {
		t.Error("Docker of a missing image succeeded")
	}
	if _, err := Docker(context.Background(), tag, Options{DockerHost: "unix:///nonexistent.sock"}); err == nil {
		t.Error("Docker with a bad host succeeded")
	}
}

// TestDockerBuildHistory builds FROM scratch (no pull needed) to check that
// history is paired with layers in build order and the base is found.
func TestDockerBuildHistory(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b"), 0o644)
	n := time.Now().UnixNano()
	base, app := fmt.Sprintf("bulwark-test/base:%d", n), fmt.Sprintf("bulwark-test/app:%d", n)
	os.WriteFile(filepath.Join(dir, "Dockerfile.base"), []byte("FROM scratch\nADD a.txt /a.txt\nCMD [\"/a\"]\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "Dockerfile.app"), []byte("FROM "+base+"\nADD b.txt /b.txt\n"), 0o644)
	docker(t, nil, "build", "-q", "-f", filepath.Join(dir, "Dockerfile.base"), "-t", base, dir)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", app, base).Run() })
	docker(t, nil, "build", "-q", "-f", filepath.Join(dir, "Dockerfile.app"), "-t", app, dir)

	o, err := Docker(context.Background(), app, Options{})
	t.Cleanup(func() { o.Close() })
	if err != nil {
		t.Fatal(err)
	}
	ls := o.Info.Layers
	if len(ls) != 2 || !strings.Contains(ls[0].CreatedBy, "a.txt") || !ls[0].Base || !strings.Contains(ls[1].CreatedBy, "b.txt") || ls[1].Base {
		t.Fatalf("layers = %+v", ls)
	}
}

// TestDockerCloseRemovesArchive: the saved archive is temporary.
func TestDockerCloseRemovesArchive(t *testing.T) {
	needDocker(t)
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "bulwark-docker-save-*"))
	tag := importTestImage(t)
	o, err := Docker(context.Background(), tag, Options{})
	if err != nil {
		t.Fatal(err)
	}
	during, _ := filepath.Glob(filepath.Join(os.TempDir(), "bulwark-docker-save-*"))
	if len(during) != len(before)+1 {
		t.Fatalf("expected one saved archive while open: before %v, during %v", before, during)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "bulwark-docker-save-*"))
	if len(after) != len(before) {
		t.Errorf("saved archive left behind: %v", after)
	}
}
