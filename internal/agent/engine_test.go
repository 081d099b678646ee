package agent_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// ownDockerd runs a separate engine (own data root, socket and network
// namespace, no iptables, no bridge, its own containerd namespace) so that
// restarting it leaves the shared engine alone.
type ownDockerd struct {
	t    *testing.T
	dir  string
	sock string
	cmd  *exec.Cmd
	log  *os.File
}

func (d *ownDockerd) start() {
	d.t.Helper()
	cfg := filepath.Join(d.dir, "daemon.json")
	os.WriteFile(cfg, []byte("{}"), 0o600) //nolint:errcheck // the host's /etc/docker/daemon.json names another data root
	// Its own network namespace: a dockerd with --bridge=none deletes the
	// docker0 interface it finds, which in the host's namespace is the
	// shared engine's bridge.
	d.cmd = exec.Command("unshare", "--net", "--", "dockerd", "--config-file", cfg, "--data-root", filepath.Join(d.dir, "root"), "--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "pid"), "-H", "unix://"+d.sock, "--iptables=false", "--ip6tables=false", "--bridge=none",
		"--containerd-namespace", "bulwark-agent-test", "--containerd-plugins-namespace", "bulwark-agent-test-p")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		testenv.Skipf(d.t, "cannot start a separate dockerd: %v", err)
	}
	exited := make(chan struct{})
	cmd := d.cmd
	go func() { cmd.Process.Wait(); close(exited) }() //nolint:errcheck
	for range 100 {
		if exec.Command("docker", "-H", "unix://"+d.sock, "version").Run() == nil {
			return
		}
		select {
		case <-exited:
			d.cmd = nil
			b, _ := os.ReadFile(d.log.Name())
			testenv.Skipf(d.t, "a separate dockerd exited: %s", lastLines(string(b), 5))
		default:
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.stop()
	b, _ := os.ReadFile(d.log.Name())
	testenv.Skipf(d.t, "a separate dockerd did not come up: %s", lastLines(string(b), 5))
}

func (d *ownDockerd) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }() //nolint:errcheck
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		d.cmd.Process.Kill() //nolint:errcheck
		<-done
	}
	d.cmd = nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// TestDockerAgentEngineRestart: the agent follows a separate engine; the
// engine stops (a clear log line, the agent keeps running) and starts
// again; an image imported after the restart reaches the server, and the
// host's assessment is sent again.
func TestDockerAgentEngineRestart(t *testing.T) {
	testenv.Docker(t)
	hadDocker0 := exec.Command("ip", "link", "show", "docker0").Run() == nil
	for _, bin := range []string{"dockerd", "unshare", "ip"} {
		if _, err := exec.LookPath(bin); err != nil || os.Geteuid() != 0 {
			testenv.Skipf(t, "needs root, dockerd and unshare to run a separate engine")
		}
	}
	// The shared engine's bridge must survive this test.
	defer func() {
		if err := exec.Command("ip", "link", "show", "docker0").Run(); err != nil && hadDocker0 {
			t.Errorf("the shared engine's docker0 is gone after the test")
		}
	}()
	dir, err := os.MkdirTemp("/tmp", "bwd")
	_ = dir // a unix socket path must stay short
	if err != nil {
		t.Fatal(err)
	}
	logf, _ := os.Create(filepath.Join(t.TempDir(), "dockerd.log"))
	d := &ownDockerd{t: t, dir: dir, sock: filepath.Join(dir, "d.sock"), log: logf}
	t.Cleanup(func() { d.stop(); os.RemoveAll(dir) })
	d.start()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _ := newTestServer(t)
	base := "http://" + srv.addr
	st := openStore(t, srv.o.DataDir)
	_, enrol, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h"}, "test", time.Now())
	_, readTok, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "reader", Scopes: "read"}, "test", time.Now())
	st.Close()
	rc, _ := client.New(base, readTok, client.Options{})
	name := strings.TrimSpace(run(t, "docker", "-H", "unix://"+d.sock, "info", "--format", "{{.Name}}"))

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	conn, err := agent.Connect(ctx, agent.Options{Server: base, Token: enrol, StateDir: t.TempDir(), Kind: "docker", Name: name,
		Version: "v1.4.0", Heartbeat: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- agent.RunDocker(ctx, conn, agent.DockerOptions{Host: "unix://" + d.sock, Settle: 100 * time.Millisecond, CacheDir: t.TempDir(), Logger: log})
	}()
	defer func() {
		cancel()
		<-done
		conn.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	hostFacts := func() map[string]string {
		p, err := rc.Resources(ctx, url.Values{"kind": {"docker-host"}})
		if err != nil || len(p.Items) != 1 {
			return nil
		}
		return p.Items[0].Facts
	}
	waitFor(t, 30*time.Second, "the separate engine's host on the server", func() (bool, string) {
		f := hostFacts()
		return f != nil, fmt.Sprint(f)
	})

	d.stop()
	waitFor(t, 15*time.Second, "the engine's loss logged", func() (bool, string) {
		return strings.Contains(logs.String(), "docker engine unreachable"), ""
	})
	d.start()
	// A one-file image imported into the restarted engine.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("x\n")
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg}) //nolint:errcheck
	tw.Write(body)                                                                                         //nolint:errcheck
	tw.Close()
	cmd := exec.Command("docker", "-H", "unix://"+d.sock, "import", "-", "bulwark-restart:1")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker import: %v %s", err, out)
	}
	id := strings.TrimSpace(run(t, "docker", "-H", "unix://"+d.sock, "image", "inspect", "--format", "{{.Id}}", "bulwark-restart:1"))
	waitFor(t, 30*time.Second, "the image imported after the restart on the server", func() (bool, string) {
		_, err := rc.Resource(ctx, id)
		return err == nil, fmt.Sprint(err)
	})
	waitFor(t, 30*time.Second, "the host re-assessed with its one image", func() (bool, string) {
		f := hostFacts()
		return f["images"] == "1", fmt.Sprint(f)
	})
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
