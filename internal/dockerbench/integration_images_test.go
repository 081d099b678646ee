package dockerbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// sleeperSourceForBench is the only binary in the test images: as PID 1
// it waits to be killed; run by HEALTHCHECK it reports healthy.
const sleeperSourceForBench = `package main

import (
	"os"
	"time"
)

func main() {
	if os.Getpid() != 1 {
		return
	}
	for {
		time.Sleep(time.Hour)
	}
}
`

func integrationDockerForBench(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_CLI_HINTS=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestIntegrationImageChecks builds two scratch images on the real engine,
// one with USER 1000 and a HEALTHCHECK and one with neither, runs a
// container from each, collects the host with Collect, and checks that
// 4.1 and 4.6 single out exactly the bad one.
func TestIntegrationImageChecks(t *testing.T) {
	testenv.Docker(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skipf(t, "needs the go toolchain to build the static test binary: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(sleeperSourceForBench), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "x"), "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off", "GO111MODULE=off", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build static test binary: %v\n%s", err, out)
	}
	dockerfiles := map[string]string{
		"good": "FROM scratch\nCOPY x /x\nUSER 1000\nHEALTHCHECK CMD [\"/x\"]\nENTRYPOINT [\"/x\"]\n",
		"bad":  "FROM scratch\nCOPY x /x\nENTRYPOINT [\"/x\"]\n",
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	id := hex.EncodeToString(suffix)
	tags, names := map[string]string{}, map[string]string{}
	for kind, df := range dockerfiles {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile."+kind), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		tag := "bulwark-bench-test-" + kind + ":" + id
		name := "bulwark-bench-" + kind + "-" + id
		tags[kind], names[kind] = tag, name
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_ = exec.CommandContext(c, "docker", "rm", "-f", name).Run()
			_ = exec.CommandContext(c, "docker", "rmi", "-f", tag).Run()
		})
		integrationDockerForBench(t, ctx, "build", "-q", "-t", tag, "-f", filepath.Join(dir, "Dockerfile."+kind), dir)
		integrationDockerForBench(t, ctx, "run", "-d", "--name", name, "--network", "none", tag)
	}

	s := Collect(ctx, CollectOptions{})
	for _, src := range []string{SourceEngine, SourceImages, SourceContainers} {
		if msg, bad := s.Errors[src]; bad {
			t.Fatalf("collect %s: %s", src, msg)
		}
	}
	short := map[string]string{}
	for _, img := range s.Images {
		for kind, tag := range tags {
			for _, rt := range img.Inspect.RepoTags {
				if rt == tag {
					short[kind] = imageShortIDForBench(img.Inspect.ID)
				}
			}
		}
	}
	if len(short) != 2 {
		t.Fatalf("collected images do not include both test images: found %v of %v", short, tags)
	}

	// 4.1: the container from the image without USER runs as root.
	r := checkImageUserCreated(s)
	if r.Status != Fail {
		t.Errorf("4.1: status %s, want fail (evidence %q)", r.Status, r.Evidence)
	}
	wantBad := "container " + names["bad"] + " (image " + tags["bad"] + "): Config.User is empty (runs as root)"
	if !containsLineForBench(r.Evidence, wantBad) {
		t.Errorf("4.1: evidence %q lacks %q", r.Evidence, wantBad)
	}
	for _, e := range r.Evidence {
		if strings.HasPrefix(e, "container "+names["good"]+" ") {
			t.Errorf("4.1: the container running as uid 1000 was reported: %q", e)
		}
	}

	// 4.6: the image without HEALTHCHECK fails, the other does not.
	r = checkImageHealthcheck(s)
	if r.Status != Fail {
		t.Errorf("4.6: status %s, want fail (evidence %q)", r.Status, r.Evidence)
	}
	wantBad = "image " + tags["bad"] + " (" + short["bad"] + "): Config.Healthcheck is not set"
	if !containsLineForBench(r.Evidence, wantBad) {
		t.Errorf("4.6: evidence %q lacks %q", r.Evidence, wantBad)
	}
	for _, e := range r.Evidence {
		if strings.Contains(e, tags["good"]) {
			t.Errorf("4.6: the image with a HEALTHCHECK was reported: %q", e)
		}
	}

	// The good image alone passes both.
	good := &Snapshot{}
	for _, img := range s.Images {
		if imageShortIDForBench(img.Inspect.ID) == short["good"] {
			good.Images = append(good.Images, img)
		}
	}
	for _, c := range s.Containers {
		if containerLabelForBench(c) == names["good"] {
			good.Containers = append(good.Containers, c)
		}
	}
	if r := checkImageUserCreated(good); r.Status != Pass {
		t.Errorf("4.1 on the good container alone: %s %q", r.Status, r.Evidence)
	}
	if r := checkImageHealthcheck(good); r.Status != Pass {
		t.Errorf("4.6 on the good image alone: %s %q", r.Status, r.Evidence)
	}
}

func containsLineForBench(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
