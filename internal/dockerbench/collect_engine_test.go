package dockerbench

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// collectTestEngine skips unless the Docker engine's socket is here and
// the CLI (used only to set up fixtures) answers.
func collectTestEngine(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/var/run/docker.sock"); err != nil && os.Getenv("DOCKER_HOST") == "" {
		testenv.Skipf(t, "needs a Docker engine at /var/run/docker.sock (or DOCKER_HOST): %v", err)
	}
	testenv.Docker(t)
}

// collectTestDocker runs the docker CLI to set up a fixture.
func collectTestDocker(t testing.TB, stdin []byte, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// collectTestImage imports a one-file image and creates a container from
// it, both removed at cleanup; it returns the image reference and the
// container name.
func collectTestImage(t testing.TB) (ref, name string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("bulwark collect fixture\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Close()
	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	ref = "bulwark-collect-test:" + suffix
	name = "bulwark-collect-" + suffix
	collectTestDocker(t, buf.Bytes(), "import", "-", ref)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", ref).Run() })
	collectTestDocker(t, nil, "create", "--name", name, "--label", "bulwark.test=collect", ref, "/hello")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })
	return ref, name
}

func TestCollectRealEngine(t *testing.T) {
	collectTestEngine(t)
	ref, name := collectTestImage(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := Collect(ctx, CollectOptions{})
	for _, src := range collectEngineSources {
		if msg, bad := s.Errors[src]; bad {
			t.Errorf("Errors[%s] = %q", src, msg)
		}
	}
	if s.Info == nil || s.Info.ServerVersion == "" {
		t.Fatalf("Info not collected: %+v", s.Info)
	}
	if s.Version == nil || s.Version.Version == "" || s.Version.APIVersion == "" {
		t.Errorf("Version not collected: %+v", s.Version)
	}

	var found bool
	for _, c := range s.Containers {
		if c.Name != "/"+name {
			continue
		}
		found = true
		if c.Config == nil || c.Config.Image != ref || c.Config.Labels["bulwark.test"] != "collect" {
			t.Errorf("container %s: Config not inspected: %+v", name, c.Config)
		}
		if c.HostConfig == nil || c.State == nil || c.State.Running {
			t.Errorf("container %s: HostConfig/State not inspected or running: %+v", name, c.State)
		}
	}
	if !found {
		t.Errorf("container %s not in Snapshot.Containers (%d containers)", name, len(s.Containers))
	}

	found = false
	for _, img := range s.Images {
		for _, tag := range img.Inspect.RepoTags {
			if tag == ref {
				found = true
				if img.Inspect.ID == "" || img.Inspect.Config == nil || len(img.History) == 0 {
					t.Errorf("image %s: inspect or history missing: id=%q history=%d", ref, img.Inspect.ID, len(img.History))
				}
			}
		}
	}
	if !found {
		t.Errorf("image %s not in Snapshot.Images (%d images)", ref, len(s.Images))
	}

	var bridge bool
	for _, n := range s.Networks {
		if n.Name == "bridge" {
			bridge = true
		}
	}
	if !bridge {
		t.Errorf("default bridge network not collected: %d networks", len(s.Networks))
	}
	if s.Plugins == nil && s.Errors[SourcePlugins] == "" {
		t.Logf("no plugins")
	}
	if s.Info.Swarm.ControlAvailable != (s.Swarm != nil) {
		t.Errorf("swarm collected %v, manager %v", s.Swarm != nil, s.Info.Swarm.ControlAvailable)
	}
	if f := s.Files["/var/run/docker.sock"]; !f.Exists {
		t.Errorf("/var/run/docker.sock not stat'ed: %+v", f)
	}
}

// TestCollectUnreachableEngine: a dead engine address gives the same clear
// error for every engine source, and the host files are still read.
func TestCollectUnreachableEngine(t *testing.T) {
	root := t.TempDir()
	collectTestWrite(t, root, "/etc/docker/daemon.json", `{"icc": false}`, 0o644)
	collectTestWrite(t, root, "/etc/group", "root:x:0:\ndocker:x:999:alice\n", 0o644)

	start := time.Now()
	s := Collect(context.Background(), CollectOptions{Host: "unix:///nonexistent.sock", Root: root})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Collect took %v against a dead socket", d)
	}
	for _, src := range collectEngineSources {
		msg := s.Errors[src]
		if !strings.HasPrefix(msg, "cannot reach the Docker engine at unix:///nonexistent.sock: ") {
			t.Errorf("Errors[%s] = %q", src, msg)
		}
	}
	if s.Info != nil || s.Containers != nil || s.Images != nil {
		t.Errorf("engine data from a dead engine: %+v", s)
	}
	if got := s.Daemon.Options["icc"]; len(got) != 1 || got[0] != "false" {
		t.Errorf("daemon.json not read: icc=%v", got)
	}
	if f := s.Files["/etc/docker/daemon.json"]; !f.Exists {
		t.Errorf("daemon.json not stat'ed: %+v", f)
	}
	if len(s.DockerGroup) != 1 || s.DockerGroup[0] != "alice" {
		t.Errorf("DockerGroup = %v", s.DockerGroup)
	}
}

// BenchmarkCollect: a whole collection against the real engine.
func BenchmarkCollect(b *testing.B) {
	collectTestEngine(b)
	ctx := context.Background()
	for b.Loop() {
		s := Collect(ctx, CollectOptions{})
		if msg, bad := s.Errors[SourceContainers]; bad {
			b.Fatal(msg)
		}
	}
}
