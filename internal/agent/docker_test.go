package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/scan"
	"github.com/bulwarkdev/bulwark/internal/server"
	"github.com/bulwarkdev/bulwark/internal/testenv"
	"github.com/bulwarkdev/bulwark/internal/update"
)

// testServer is a real server over SQLite on a loopback port, which the
// test can stop and start again on the same address and data.
type testServer struct {
	t       *testing.T
	o       server.Options
	addr    string
	stop    func()
	stopped bool
}

func (s *testServer) start() {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.Open(ctx, s.o)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := srv.Listen(); err != nil {
		s.t.Fatal(err)
	}
	s.addr = srv.Addr()
	s.o.Listen = s.addr // the next start binds the same port
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	s.stopped = false
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			s.t.Errorf("server: %v", err)
		}
		srv.Close()
		s.stopped = true
	}
}

// newTestServer builds a vulnerability DB holding one critical Debian 12
// glibc advisory (every glibc of the test image is affected) and starts
// a server over it.
func newTestServer(t *testing.T) (*testServer, *server.Server) {
	t.Helper()
	cache, feeds := t.TempDir(), t.TempDir()
	adv := `{"schema_version": "1.6.0", "id": "DEBIAN-CVE-2099-0001", "aliases": ["CVE-2099-0001"],
  "summary": "synthetic glibc overflow", "modified": "2099-01-01T00:00:00Z",
  "affected": [{"package": {"ecosystem": "Debian:12", "name": "glibc"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u99"}]}]}],
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}`
	if err := os.MkdirAll(filepath.Join(feeds, "debian"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(feeds, "debian", "DEBIAN-CVE-2099-0001.json"), []byte(adv), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := update.Run(context.Background(), scan.DBDir(cache), update.Options{Sources: []string{feeds}}); err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, o: server.Options{DataDir: t.TempDir(), Listen: "127.0.0.1:0", CacheDir: cache, Version: "v1.4.0"}}
	s.start()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
	})
	return s, nil
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < d {
		ok, s := cond()
		if ok {
			return time.Since(start)
		}
		last = s
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last seen: %s", what, d, last)
	return 0
}

// syncBuffer is read by the test while the code under test writes it.
type syncBuffer = testenv.Buffer

// TestDockerAgent runs the Docker host agent against this machine's
// engine and a real server: it enrols, the host's CIS result flips when a
// container with an added capability starts, a `docker import`ed image's
// findings reach the server within seconds, a shell in a container is an
// alert on the server; then, with the server stopped, all three happen
// again and after the restart each is on the server exactly once.
func TestDockerAgent(t *testing.T) {
	testenv.Docker(t)
	tarPath := filepath.Join(testenv.TestData(), "bookworm-minbase.tar")
	if fi, err := os.Stat(tarPath); err != nil || fi.Size() == 0 {
		testenv.Skipf(t, "needs %s (scripts/testimage.sh)", tarPath)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, _ := newTestServer(t)
	base := "http://" + srv.addr
	engineName := docker(t, "info", "--format", "{{.Name}}")

	// Tokens straight in the store, as `bulwark token create` makes them.
	st := openStore(t, srv.o.DataDir)
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h", Resource: "docker-host/" + engineName}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, readTok, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "reader", Scopes: "read"}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	rc, _ := client.New(base, readTok, client.Options{Retries: -1})

	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	state := t.TempDir()
	conn, err := agent.Connect(ctx, agent.Options{Server: base, Token: enrol, StateDir: state, Kind: "docker", Name: engineName,
		Version: "v1.4.0", Heartbeat: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := runtime.New(ctx, runtime.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() {
		agentDone <- agent.RunDocker(ctx, conn, agent.DockerOptions{BenchInterval: time.Hour, Settle: 100 * time.Millisecond,
			CacheDir: t.TempDir(), Engine: eng, Window: time.Second, Version: "v1.4.0", Logger: log})
	}()
	defer func() {
		cancel()
		<-agentDone
		conn.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	// The host appears, with its agent.
	var hostID string
	waitFor(t, 30*time.Second, "the Docker host on the server", func() (bool, string) {
		p, err := rc.Resources(ctx, url.Values{"kind": {"docker-host"}})
		if err != nil || len(p.Items) == 0 {
			return false, fmt.Sprint(err)
		}
		hostID = p.Items[0].ID
		return true, ""
	})

	suffix := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	engineID := docker(t, "info", "--format", "{{.ID}}")
	run := func(name string, args ...string) string {
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() }) //nolint:errcheck
		return docker(t, append([]string{"run", "-d", "--name", name}, args...)...)
	}
	importImage := func(tag string) (string, time.Time) {
		t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() }) //nolint:errcheck
		at := time.Now()
		docker(t, "import", tarPath, tag)
		return docker(t, "image", "inspect", "--format", "{{.Id}}", tag), at
	}
	imageFindings := func(id string) func() (bool, string) {
		return func() (bool, string) {
			d, err := rc.Resource(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			return d.Counts.Critical > 0, fmt.Sprintf("health %s counts %+v", d.Health, d.Counts)
		}
	}
	capAssessed := func(cname string) func() (bool, string) {
		return func() (bool, string) {
			p, err := rc.Assessments(ctx, url.Values{"resource": {hostID}, "rule": {"CIS-DOCKER-5.4"}})
			if err != nil || len(p.Items) != 1 {
				return false, fmt.Sprint(p, err)
			}
			a := p.Items[0]
			return string(a.Status) == "unhealthy" && strings.Contains(fmt.Sprint(a.Evidence), cname), fmt.Sprintf("%s %v", a.Status, a.Evidence)
		}
	}
	// A container's shell alerts, by the resource the host's inventory
	// holds for it: <engine ID>/<container id>.
	shellAlerts := func(cid string) func() []string {
		return func() []string {
			p, err := rc.Alerts(ctx, url.Values{"type": {"VM_ShellInContainer"}, "limit": {"500"}})
			if err != nil {
				return nil
			}
			var ids []string
			for _, a := range p.Items {
				if strings.HasSuffix(a.Resource.ID, cid) {
					ids = append(ids, a.Resource.ID)
				}
			}
			return ids
		}
	}
	oneShellAlert := func(what, cid string, d time.Duration) {
		t.Helper()
		waitFor(t, d, what, func() (bool, string) {
			ids := shellAlerts(cid)()
			return len(ids) == 1 && ids[0] == engineID+"/"+cid, fmt.Sprint(ids)
		})
	}

	// 1. An imported image's findings.
	img1, at := importImage("bulwark-agent-test:" + suffix)
	took := waitFor(t, 20*time.Second, "the imported image's findings on the server", imageFindings(img1))
	t.Logf("findings of the imported image on the server %s after docker import returned (%s after it started)", took, time.Since(at)-0)

	// 2. A container with an added capability flips CIS 5.4.
	c1 := "bw14d-agent-" + suffix
	cid1 := run(c1, "--cap-add", "SYS_ADMIN", "bulwark-agent-test:"+suffix, "sleep", "300")
	waitFor(t, 20*time.Second, "CIS-DOCKER-5.4 unhealthy naming "+c1, capAssessed(c1))

	// 3. A shell in the container is one alert on the server, on the
	// container as the host's inventory names it.
	docker(t, "exec", c1, "sh", "-c", "id")
	oneShellAlert("VM_ShellInContainer for "+c1, cid1, 20*time.Second)

	// The server goes away; the same three happen; nothing is lost.
	srv.stop()
	img2, _ := importImage("bulwark-agent-test2:" + suffix)
	c2 := "bw14d-agent2-" + suffix
	cid2 := run(c2, "--cap-add", "NET_ADMIN", "bulwark-agent-test2:"+suffix, "sleep", "300")
	docker(t, "exec", c2, "sh", "-c", "id")
	time.Sleep(4 * time.Second) // the agent acts and queues while the server is down
	srv.start()
	waitFor(t, 60*time.Second, "after the outage: the second image's findings", imageFindings(img2))
	waitFor(t, 30*time.Second, "after the outage: CIS-DOCKER-5.4 naming "+c2, capAssessed(c2))
	oneShellAlert("after the outage: VM_ShellInContainer for "+c2, cid2, 30*time.Second)
	// Exactly once: one image row per import, one alert per container.
	for _, id := range []string{img1, img2} {
		p, err := rc.Resources(ctx, url.Values{"kind": {"image"}, "name": {"bulwark-agent-test*"}})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range p.Items {
			if r.ID == id {
				n++
			}
		}
		if n != 1 {
			t.Errorf("image %s: %d rows, want 1", id, n)
		}
	}
	for _, cid := range []string{cid1, cid2} {
		if ids := shellAlerts(cid)(); len(ids) != 1 {
			t.Errorf("alerts for %s after the outage: %v, want one", cid, ids)
		}
	}
	// The agent is listed with its version and health.
	var agents struct {
		Items []struct {
			Version string `json:"version"`
			Silent  bool   `json:"silent"`
			Kind    string `json:"kind"`
		} `json:"items"`
	}
	if err := rc.Get(ctx, "/api/v1/agents", nil, &agents); err != nil || len(agents.Items) != 1 || agents.Items[0].Version != "v1.4.0" || agents.Items[0].Kind != "docker" {
		t.Errorf("agents: %+v %v", agents, err)
	}
	if !strings.Contains(logs.String(), "heartbeat failed") {
		t.Errorf("the outage left no log line")
	}
}
