package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/agent"
	"github.com/bulwarkdev/bulwark/internal/api"
	"github.com/bulwarkdev/bulwark/internal/auth"
	"github.com/bulwarkdev/bulwark/internal/client"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// rig is a real server, a Docker agent on this machine's engine reporting
// to it (possibly through a faulty proxy), and a reader of the server.
type rig struct {
	t                    *testing.T
	srv                  *testServer
	rc                   *client.Client
	base, adminTok       string
	stateDir             string
	logs                 *syncBuffer
	conn                 *agent.Conn
	engineID, engineName string
	image                string // a local image to run containers of
}

type rigOptions struct {
	// via, when set, puts a proxy between the agent and the server.
	via      func(target string) string
	stateDir string
	timeout  time.Duration
}

// faultProxy forwards to the server, answers 503, or holds every request
// until the client gives up, as mode says.
type faultProxy struct {
	mode atomic.Int32 // 0 forward, 1 answer 503, 2 hang
	hits atomic.Int64
}

const (
	proxyForward = iota
	proxy503
	proxyHang
)

func (p *faultProxy) start(t *testing.T, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.mode.Load() {
		case proxy503:
			p.hits.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "upstream maintenance", http.StatusServiceUnavailable)
		case proxyHang:
			p.hits.Add(1)
			select { // the agent's timeout ends it
			case <-r.Context().Done():
			case <-release:
			}
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(func() { close(release); s.Close() })
	return s.URL
}

func startRig(t *testing.T, ro rigOptions) *rig {
	t.Helper()
	testenv.Docker(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, _ := newTestServer(t)
	base := "http://" + srv.addr
	r := &rig{t: t, srv: srv, logs: &syncBuffer{}}
	r.engineName = docker(t, "info", "--format", "{{.Name}}")
	r.engineID = docker(t, "info", "--format", "{{.ID}}")
	st := openStore(t, srv.o.DataDir)
	_, enrol, err := api.CreateToken(ctx, st, api.TokenRequest{Name: "enrol", Scopes: "enroll", Expires: "1h", Resource: "docker-host/" + r.engineName}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, readTok, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "reader", Scopes: "read"}, "test", time.Now())
	_, adminTok, _ := api.CreateToken(ctx, st, api.TokenRequest{Name: "admin", Scopes: "admin"}, "test", time.Now())
	st.Close()
	r.rc, _ = client.New(base, readTok, client.Options{Retries: -1})
	r.base, r.adminTok = base, adminTok
	agentURL := base
	if ro.via != nil {
		agentURL = ro.via(base)
	}
	if ro.stateDir == "" {
		ro.stateDir = t.TempDir()
	}
	r.stateDir = ro.stateDir
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r.conn, err = agent.Connect(ctx, agent.Options{Server: agentURL, Token: enrol, StateDir: ro.stateDir, Kind: "docker", Name: r.engineName,
		Version: "v1.4.0", Heartbeat: 500 * time.Millisecond, Timeout: ro.timeout, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := runtime.New(ctx, runtime.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- agent.RunDocker(ctx, r.conn, agent.DockerOptions{BenchInterval: time.Hour, Settle: 100 * time.Millisecond,
			CacheDir: t.TempDir(), Engine: eng, Window: time.Second, NoHostScan: true, Version: "v1.4.0", Logger: log})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		r.conn.Close()
		if t.Failed() {
			t.Logf("agent log:\n%s", r.logs.String())
		}
	})
	return r
}

// importImage imports the Debian test rootfs as a local image (no pulls).
func (r *rig) importImage(tag string) string {
	r.t.Helper()
	tarPath := testenv.DebianRootfs(r.t, "bookworm-minbase")
	r.t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() }) //nolint:errcheck
	docker(r.t, "import", tarPath, tag)
	r.image = tag
	return docker(r.t, "image", "inspect", "--format", "{{.Id}}", tag)
}

// container starts a bw14d- container of the rig's image and returns its
// full id.
func (r *rig) container(name string, args ...string) string {
	r.t.Helper()
	r.t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() }) //nolint:errcheck
	a := append([]string{"run", "-d", "--name", name}, args...)
	a = append(a, r.image, "sleep", "600")
	return docker(r.t, a...)
}

// shellAlerts are the server's VM_ShellInContainer alerts on a container.
func (r *rig) shellAlerts(cid string) []string {
	p, err := r.rc.Alerts(context.Background(), url.Values{"type": {"VM_ShellInContainer"}, "limit": {"500"}})
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range p.Items {
		if strings.HasSuffix(a.Resource.ID, cid) {
			out = append(out, a.Resource.ID)
		}
	}
	return out
}

func (r *rig) waitShellAlert(what, cid string, d time.Duration) {
	r.t.Helper()
	waitFor(r.t, d, what, func() (bool, string) {
		ids := r.shellAlerts(cid)
		return len(ids) == 1, fmt.Sprint(ids)
	})
	if ids := r.shellAlerts(cid); len(ids) != 1 || ids[0] != r.engineID+"/"+cid {
		r.t.Errorf("%s: alerts on %v, want one on %s/%s", what, ids, r.engineID, cid)
	}
}

// TestDockerAgentExecOneAlert: a docker exec into a container is one
// alert on the server, on the resource the host's inventory holds for the
// container (<engine ID>/<container id>, the CIS report's).
func TestDockerAgentExecOneAlert(t *testing.T) {
	r := startRig(t, rigOptions{})
	r.importImage(fmt.Sprintf("bw14d-exec:%d", time.Now().UnixNano()))
	name := fmt.Sprintf("bw14d-exec-%d", time.Now().UnixNano())
	cid := r.container(name)
	docker(t, "exec", name, "sh", "-c", "id")
	r.waitShellAlert("the exec's alert", cid, 20*time.Second)
	// The container is in the host's inventory under the same id.
	waitFor(t, 20*time.Second, "the container in the host's inventory", func() (bool, string) {
		d, err := r.rc.Resource(context.Background(), r.engineID+"/"+cid)
		if err != nil {
			return false, err.Error()
		}
		return d.Name == name && string(d.Kind) == "container", fmt.Sprintf("%s %s", d.Kind, d.Name)
	})
	time.Sleep(2 * time.Second) // a second sighting would have arrived by now
	if ids := r.shellAlerts(cid); len(ids) != 1 {
		t.Errorf("alerts after the exec: %v, want one", ids)
	}
}

// TestDockerAgentServerFaults: the server behind the agent first answers
// 503, then hangs (the agent's requests time out); meanwhile the agent
// keeps detecting, logs why nothing is delivered, and once the server
// answers again every result is there exactly once.
func TestDockerAgentServerFaults(t *testing.T) {
	px := &faultProxy{}
	r := startRig(t, rigOptions{via: func(target string) string { return px.start(t, target) }, timeout: time.Second})
	r.importImage(fmt.Sprintf("bw14d-faults:%d", time.Now().UnixNano()))
	waitFor(t, 30*time.Second, "the host on the server", func() (bool, string) {
		_, err := r.rc.Resource(context.Background(), r.engineID)
		return err == nil, fmt.Sprint(err)
	})
	for _, phase := range []struct {
		name string
		mode int32
		log  string
	}{
		{"503", proxy503, "503"},
		{"hang", proxyHang, "deadline exceeded"},
	} {
		px.mode.Store(phase.mode)
		px.hits.Store(0)
		name := fmt.Sprintf("bw14d-%s-%d", phase.name, time.Now().UnixNano())
		cid := r.container(name)
		docker(t, "exec", name, "sh", "-c", "id")
		waitFor(t, 20*time.Second, phase.name+": the agent's requests failing, logged", func() (bool, string) {
			return px.hits.Load() >= 2 && strings.Contains(r.logs.String(), "heartbeat failed") && strings.Contains(r.logs.String(), phase.log), fmt.Sprint(px.hits.Load())
		})
		if ids := r.shellAlerts(cid); len(ids) != 0 {
			t.Fatalf("%s: an alert reached the server through a failing proxy: %v", phase.name, ids)
		}
		if q := r.conn.OutboxStats(); q.Queued == 0 {
			t.Errorf("%s: nothing waits in the outbox: %+v", phase.name, q)
		}
		px.mode.Store(proxyForward)
		r.waitShellAlert(phase.name+": the exec's alert after the server came back", cid, 60*time.Second)
		waitFor(t, 30*time.Second, phase.name+": CIS-DOCKER-5.x naming the container", func() (bool, string) {
			d, err := r.rc.Resource(context.Background(), r.engineID+"/"+cid)
			return err == nil && d.Name == name, fmt.Sprint(err)
		})
	}
}

// TestDockerAgentRevokedToken: the agent's credential is revoked through
// the API; the agent says so clearly, keeps detecting and keeps what it
// could not deliver in its outbox.
func TestDockerAgentRevokedToken(t *testing.T) {
	r := startRig(t, rigOptions{})
	r.importImage(fmt.Sprintf("bw14d-revoke:%d", time.Now().UnixNano()))
	waitFor(t, 30*time.Second, "the host on the server", func() (bool, string) {
		_, err := r.rc.Resource(context.Background(), r.engineID)
		return err == nil, fmt.Sprint(err)
	})
	// Revoked the way an operator does: DELETE /api/v1/tokens/{id}.
	id, _, ok := auth.ParseToken(credToken(t, r.stateDir))
	if !ok {
		t.Fatal("the agent's credential is not a token")
	}
	req, _ := http.NewRequest(http.MethodDelete, r.base+"/api/v1/tokens/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+r.adminTok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoking the agent's token: %v %v", resp, err)
	}
	resp.Body.Close()
	waitFor(t, 10*time.Second, "the revocation logged", func() (bool, string) {
		return strings.Contains(r.logs.String(), "server refuses the agent credential (revoked or unknown)"), ""
	})
	name := fmt.Sprintf("bw14d-revoked-%d", time.Now().UnixNano())
	cid := r.container(name)
	before := r.conn.OutboxStats()
	docker(t, "exec", name, "sh", "-c", "id")
	waitFor(t, 20*time.Second, "the exec's alert and the new CIS report kept in the outbox", func() (bool, string) {
		s := r.conn.OutboxStats()
		return s.Queued >= before.Queued+2, fmt.Sprintf("%+v", s)
	})
	time.Sleep(time.Second)
	if ids := r.shellAlerts(cid); len(ids) != 0 {
		t.Errorf("an alert was accepted with a revoked credential: %v", ids)
	}
	if s := r.conn.OutboxStats(); s.Dropped != 0 {
		t.Errorf("the outbox dropped documents: %+v", s)
	}
}

// TestDockerAgentOutboxDiskFull: the agent's state directory is a 1 MiB
// tmpfs filled up while the server is down: the full disk is logged once,
// older queued documents make room for new ones (alert.TestWebhookDiskFull
// checks the dropping itself), detection goes on, and once there is room
// and a server again, what happens next arrives.
func TestDockerAgentOutboxDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "needs root to mount a small tmpfs")
	}
	dir, err := os.MkdirTemp("", "bw14d-tmpfs")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "bw14d", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		testenv.Skipf(t, "cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		syscall.Unmount(dir, syscall.MNT_DETACH) //nolint:errcheck
		os.Remove(dir)
	})
	r := startRig(t, rigOptions{stateDir: filepath.Join(dir, "state")})
	r.importImage(fmt.Sprintf("bw14d-full:%d", time.Now().UnixNano()))
	waitFor(t, 30*time.Second, "the host on the server", func() (bool, string) {
		_, err := r.rc.Resource(context.Background(), r.engineID)
		return err == nil, fmt.Sprint(err)
	})
	r.srv.stop()
	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	f, _ := os.Create(filler)
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			break
		}
	}
	f.Close()
	name := fmt.Sprintf("bw14d-full-%d", time.Now().UnixNano())
	cid := r.container(name, "--cap-add", "NET_ADMIN")
	docker(t, "exec", name, "sh", "-c", "id")
	waitFor(t, 20*time.Second, "the full disk logged", func() (bool, string) {
		return strings.Contains(r.logs.String(), "no space left on device"), ""
	})
	// One line for the episode, whether it had queued documents to drop
	// to make room (then the new one is kept) or none.
	if n := strings.Count(r.logs.String(), "queue disk full"); n != 1 {
		t.Errorf("%d disk-full lines, want one for the episode", n)
	}
	// Detection went on: the exec was evaluated and its alert attempted.
	if !strings.Contains(r.logs.String(), "VM_ShellInContainer") {
		t.Errorf("the exec into %s was not detected while the disk was full", name)
	}
	// Room again, and a server: the next exec arrives.
	os.Remove(filler)
	r.srv.start()
	docker(t, "exec", name, "sh", "-c", "id -u")
	waitFor(t, 60*time.Second, "an alert after the disk had room again", func() (bool, string) {
		ids := r.shellAlerts(cid)
		return len(ids) == 1, fmt.Sprint(ids)
	})
}
