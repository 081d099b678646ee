package sourcetest

// A tiny Docker image made of the host's own binaries (nothing to pull),
// for the docker, ebpf and procscan integration tests.

import (
	"archive/tar"
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// imageBinaries are copied from the host into the image (dash as /bin/sh)
// with the shared libraries ldd names, so the image has a real shell.
var imageBinaries = map[string]string{
	"bin/sh":    "/bin/dash",
	"bin/id":    "/usr/bin/id",
	"bin/true":  "/bin/true",
	"bin/sleep": "/bin/sleep",
	"bin/cat":   "/bin/cat",
}

var lddPath = regexp.MustCompile(`(/\S+) \(0x`)

// Docker runs the docker CLI and returns its trimmed combined output.
func Docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// HostImage imports an image named tag holding the host's sh, id, true,
// sleep and cat with their libraries (CMD sleep 3600), and removes it when
// the test ends. It skips without Docker or ldd.
func HostImage(t testing.TB, tag string) {
	t.Helper()
	HostImageWith(t, tag, nil)
}

// HostImageWith is HostImage with more files: extra maps an image path
// (relative, e.g. "usr/bin/curl") to a host file; executables among them
// get their libraries too (ldd is asked of every file; a non-ELF one,
// such as a data file, simply has none).
func HostImageWith(t testing.TB, tag string, extra map[string]string) {
	t.Helper()
	testenv.Docker(t)
	if _, err := exec.LookPath("ldd"); err != nil {
		testenv.Skipf(t, "needs ldd to build the test image: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	files := map[string]string{} // image path -> host path
	for in, host := range imageBinaries {
		files[in] = host
		out, err := exec.CommandContext(ctx, "ldd", host).Output()
		if err != nil {
			testenv.Skipf(t, "ldd %s: %v", host, err)
		}
		for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
			files[strings.TrimPrefix(m[1], "/")] = m[1]
		}
	}
	for in, host := range extra {
		files[in] = host
		// ldd fails on files that are not dynamic executables: no libraries.
		out, _ := exec.CommandContext(ctx, "ldd", host).Output()
		for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
			files[strings.TrimPrefix(m[1], "/")] = m[1]
		}
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dirs := map[string]bool{}
	for in := range files {
		for d := filepath.Dir(in); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	// Parents first: sorted paths put a directory before what it holds.
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range slices.Sorted(maps.Keys(files)) {
		host := files[in]
		data, err := os.ReadFile(host) // follows symlinks: the image gets the real file
		if err != nil {
			t.Fatalf("read %s: %v", host, err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: in, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data)), ModTime: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if out, err := Docker(context.Background(), nil, "rmi", "-f", tag); err != nil {
			t.Logf("remove image %s: %v: %s", tag, err, out)
		}
	})
	if out, err := Docker(ctx, buf.Bytes(), "import", "-c", `CMD ["/bin/sleep","3600"]`, "-", tag); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
}

// RunContainer starts a detached container from image with extra docker
// run flags, removes it (force) when the test ends, and returns its id.
func RunContainer(t testing.TB, image string, flags ...string) string {
	t.Helper()
	return container(t, "run", image, flags)
}

// CreateContainer creates (does not start) a container like RunContainer.
func CreateContainer(t testing.TB, image string, flags ...string) string {
	t.Helper()
	return container(t, "create", image, flags)
}

func container(t testing.TB, verb, image string, flags []string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{verb}
	if verb == "run" {
		args = append(args, "-d")
	}
	args = append(args, flags...)
	args = append(args, image)
	id, err := Docker(ctx, nil, args...)
	if err != nil {
		t.Fatalf("docker %v: %v: %s", args, err, id)
	}
	t.Cleanup(func() { _, _ = Docker(context.Background(), nil, "rm", "-f", id) })
	return id
}

// RenamedTool copies the program name (looked up on PATH) into a temp dir
// as newName and returns its path: a tool a rule knows by name (unshare,
// useradd) that only a syscall or file hook can then recognise. Skips
// when the program is missing.
func RenamedTool(t testing.TB, name, newName string) string {
	t.Helper()
	src, err := exec.LookPath(name)
	if err != nil {
		testenv.Skipf(t, "needs %s: %v", name, err)
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), newName)
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}
