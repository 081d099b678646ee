package dockerbench

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// s5itSleeper sleeps forever; with any argument it exits 0, so the image
// can carry it as /sleep and as /bin/sh (for CMD-SHELL health checks).
const s5itSleeper = `package main

import (
	"os"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(0)
	}
	for {
		time.Sleep(time.Hour)
	}
}
`

func s5itDocker(t *testing.T, ctx context.Context, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// s5itImage builds the sleeper statically and imports it as an image.
func s5itImage(t *testing.T, ctx context.Context, tag string) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skipf(t, "needs the go tool to build the test image: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(s5itSleeper), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-ldflags=-s -w", "-o", "sleep", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build sleeper: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	if err := tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sleep", "bin/sh"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)), ModTime: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(bin); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	// Removed after every container (cleanups run last-in first-out).
	t.Cleanup(func() {
		if out, err := s5itDocker(t, context.Background(), nil, "rmi", "-f", tag); err != nil {
			t.Logf("remove image %s: %v: %s", tag, err, out)
		}
	})
	if out, err := s5itDocker(t, ctx, buf.Bytes(), "import", "-c", `CMD ["/sleep"]`, "-", tag); err != nil {
		t.Fatalf("docker import: %v: %s", err, out)
	}
}

// s5itWithout drops flags and the value following each.
func s5itWithout(args []string, drop ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		if slices.Contains(drop, args[i]) {
			i++ // skip the flag's value
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// TestIntegrationContainers starts one hardened container and one container
// per misconfiguration (the hardened flags but one deviation) on the real
// engine, collects a snapshot with Collect, and checks that every
// misconfigured container fails exactly the controls of its deviation and
// the hardened one fails none.
func TestIntegrationContainers(t *testing.T) {
	testenv.Docker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	suffix := hex.EncodeToString(rnd[:])
	tag := "bulwark-s5-sleep:" + suffix
	s5itImage(t, ctx, tag)

	baseline := []string{
		"--read-only=true", "--memory", "64m", "--cpu-shares", "512", "--pids-limit", "64",
		"--security-opt", "no-new-privileges", "--cap-drop", "ALL", "--user", "1000",
		"--restart", "on-failure:3", "-p", "127.0.0.1::8080",
		"--health-cmd", "/sleep ok", "--health-interval", "5s",
	}
	type variant struct {
		name string
		args func(b []string) []string
		fail []string // controls this container must fail, and only these
	}
	add := func(extra ...string) func([]string) []string {
		return func(b []string) []string { return append(slices.Clone(b), extra...) }
	}
	variants := []variant{
		{"hardened", add(), nil},
		{"privileged", add("--privileged"), []string{"5.5"}},
		{"nethost", func(b []string) []string { return append(s5itWithout(b, "-p"), "--network", "host") }, []string{"5.10"}},
		{"pidhost", add("--pid", "host"), []string{"5.16"}},
		{"ipchost", add("--ipc", "host"), []string{"5.17"}},
		{"utshost", add("--uts", "host"), []string{"5.21"}},
		{"usernshost", add("--userns", "host"), []string{"5.31"}},
		{"sock", add("-v", "/var/run/docker.sock:/var/run/docker.sock"), []string{"5.32"}},
		{"etc", add("-v", "/etc:/host-etc:ro"), []string{"5.6"}},
		{"nolimits", func(b []string) []string { return s5itWithout(b, "--memory", "--cpu-shares", "--pids-limit") }, []string{"5.11", "5.12", "5.29"}},
		{"capadd", add("--cap-add", "NET_ADMIN"), []string{"5.4"}},
		{"seccomp", add("--security-opt", "seccomp=unconfined"), []string{"5.22"}},
		{"port80", func(b []string) []string { return append(s5itWithout(b, "-p"), "-p", "80:8080") }, []string{"5.8", "5.14"}},
		{"restart", func(b []string) []string { return append(s5itWithout(b, "--restart"), "--restart", "always") }, []string{"5.15"}},
		{"writable", func(b []string) []string {
			return slices.DeleteFunc(slices.Clone(b), func(a string) bool { return a == "--read-only=true" })
		}, []string{"5.13"}},
		{"root", func(b []string) []string { return s5itWithout(b, "--user") }, nil},
		{"nohealth", func(b []string) []string { return s5itWithout(b, "--health-cmd", "--health-interval") }, []string{"5.27"}},
		{"nnp", func(b []string) []string { return s5itWithout(b, "--security-opt") }, []string{"5.26"}},
	}
	names := map[string]variant{} // container name -> variant
	for _, v := range variants {
		name := "bulwark-s5-" + suffix + "-" + v.name
		args := append([]string{"run", "-d", "--name", name}, v.args(baseline)...)
		args = append(args, tag)
		t.Cleanup(func() { _, _ = s5itDocker(t, context.Background(), nil, "rm", "-f", name) })
		if out, err := s5itDocker(t, ctx, nil, args...); err != nil {
			t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
		}
		names[name] = v
	}

	snap := Collect(ctx, CollectOptions{Auditctl: func(context.Context) ([]string, error) { return nil, nil }})
	if msg := snap.Errors[SourceContainers]; msg != "" {
		t.Fatalf("collect containers: %s", msg)
	}
	if msg := snap.Errors[SourceEngine]; msg != "" {
		t.Fatalf("collect engine: %s", msg)
	}
	// Only our containers: other tests may run containers meanwhile.
	var mine []container.InspectResponse
	for _, c := range snap.Containers {
		if _, ok := names[ctrName(c)]; ok {
			if c.State == nil || !c.State.Running {
				out, _ := s5itDocker(t, ctx, nil, "logs", ctrName(c))
				t.Fatalf("container %s is not running: %+v\n%s", ctrName(c), c.State, out)
			}
			mine = append(mine, c)
		}
	}
	if len(mine) != len(names) {
		t.Fatalf("collected %d of our %d containers", len(mine), len(names))
	}
	snap.Containers = mine

	results := map[string]Result{}
	for _, c := range registry {
		if strings.HasPrefix(c.ID, "5.") {
			results[c.ID] = evaluate(c, snap)
		}
	}
	named := func(id, name string) bool {
		for _, e := range results[id].Evidence {
			if strings.HasPrefix(e, "container "+name+":") {
				return true
			}
		}
		return false
	}

	daemonNNP := checkNoNewPrivileges(&Snapshot{Daemon: snap.Daemon, Containers: []container.InspectResponse{{Name: "/x", State: &container.State{Running: true}, HostConfig: &container.HostConfig{}}}}).Status == Pass
	checked := []string{"5.4", "5.5", "5.6", "5.8", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.20", "5.21", "5.22", "5.25", "5.26", "5.27", "5.29", "5.31", "5.32"}
	for name, v := range names {
		for _, id := range checked {
			want := slices.Contains(v.fail, id)
			if id == "5.26" && daemonNNP {
				want = false // dockerd sets no-new-privileges for everyone
			}
			if got := named(id, name); got != want {
				t.Errorf("%s (%s): named in %s evidence = %v, want %v; %s %q", v.name, name, id, got, want, results[id].Status, results[id].Evidence)
			}
		}
	}
	for _, id := range checked {
		anyFail := false
		for _, v := range variants {
			anyFail = anyFail || slices.Contains(v.fail, id)
		}
		if id == "5.26" && daemonNNP {
			anyFail = false
		}
		want := Pass
		if anyFail {
			want = Fail
		}
		if results[id].Status != want {
			t.Errorf("%s: status %s, want %s; %q", id, results[id].Status, want, results[id].Evidence)
		}
	}

	// Host-dependent and manual controls.
	if ctrHostHasSecurityOption(snap, "apparmor") {
		if !named("5.2", "bulwark-s5-"+suffix+"-privileged") || named("5.2", "bulwark-s5-"+suffix+"-hardened") {
			t.Errorf("5.2: %s %q", results["5.2"].Status, results["5.2"].Evidence)
		}
	} else if results["5.2"].Status != NotApplicable {
		t.Errorf("5.2 without AppArmor: %s %q", results["5.2"].Status, results["5.2"].Evidence)
	}
	if !ctrHostHasSecurityOption(snap, "selinux") && results["5.3"].Status != NotApplicable {
		t.Errorf("5.3 without SELinux: %s %q", results["5.3"].Status, results["5.3"].Evidence)
	}
	for id, want := range map[string]Status{"5.1": Pass, "5.7": Warn, "5.23": Warn, "5.9": Info, "5.18": Info, "5.19": Info, "5.24": Info, "5.28": Info, "5.30": Info} {
		if id == "5.1" && snap.Info != nil && snap.Info.Swarm.LocalNodeState != "inactive" {
			want = Fail
		}
		if results[id].Status != want {
			t.Errorf("%s: status %s, want %s; %q", id, results[id].Status, want, results[id].Evidence)
		}
	}
	evHas := func(id, sub string) bool {
		return slices.ContainsFunc(results[id].Evidence, func(e string) bool { return strings.Contains(e, sub) })
	}
	if !evHas("5.9", "container bulwark-s5-"+suffix+"-port80: ports 8080/tcp -> 0.0.0.0:80") {
		t.Errorf("5.9 evidence lacks port80's 0.0.0.0:80: %q", results["5.9"].Evidence)
	}
	if !evHas("5.18", "container bulwark-s5-"+suffix+"-privileged: privileged: every host device is accessible") {
		t.Errorf("5.18 evidence: %q", results["5.18"].Evidence)
	}
	if !evHas("5.30", "container bulwark-s5-"+suffix+"-hardened: attached to the default bridge network") || evHas("5.30", "-nethost:") {
		t.Errorf("5.30 evidence: %q", results["5.30"].Evidence)
	}
	if !evHas("5.28", "container bulwark-s5-"+suffix+"-hardened: image "+tag+" (sha256:") {
		t.Errorf("5.28 evidence: %q", results["5.28"].Evidence)
	}
	if t.Failed() || testing.Verbose() {
		for _, c := range Controls() {
			if id := c.ID; strings.HasPrefix(id, "5.") {
				t.Logf("%s %s %q", id, results[id].Status, results[id].Evidence)
			}
		}
	}
}
