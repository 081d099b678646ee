package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

// alertLines reads a JSON-lines alert file: every line, in order.
func alertLines(t *testing.T, path string) []model.Alert {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []model.Alert
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var a model.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			// The last line may be half written while we read.
			continue
		}
		out = append(out, a)
	}
	return out
}

// watchRun is one in-process `bulwark runtime watch`.
type watchRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	stderr syncBuffer
}

// syncBuffer is read by the test while the code under test writes it.
type syncBuffer = testenv.Buffer

func startWatch(t *testing.T, args ...string) *watchRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watchRun{cancel: cancel, done: make(chan struct{})}
	cmd := newRootCmd()
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&w.stderr)
	cmd.SetArgs(append([]string{"--cache-dir", t.TempDir(), "runtime", "watch"}, args...))
	go func() {
		defer close(w.done)
		w.code = exitCode(cmd.ExecuteContext(ctx))
	}()
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop is SIGINT: cancel and wait for the drain.
func (w *watchRun) stop(t *testing.T) int {
	t.Helper()
	w.cancel()
	select {
	case <-w.done:
	case <-time.After(time.Minute):
		t.Fatalf("runtime watch did not stop within a minute of cancellation")
	}
	return w.code
}

// waitAlerts polls the output until every wanted (type, resource id) is
// there, or fails after a minute.
func waitAlerts(t *testing.T, w *watchRun, path string, want []alertKey) []model.Alert {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := alertLines(t, path)
		missing := missingAlerts(got, want)
		if len(missing) == 0 {
			return got
		}
		select {
		case <-w.done:
			t.Fatalf("runtime watch exited (code %d) before alerts %v; stderr:\n%s", w.code, missing, w.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts %v not raised within a minute; got %v", missing, summarize(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type alertKey struct{ typ, resource string }

func missingAlerts(got []model.Alert, want []alertKey) []alertKey {
	have := map[alertKey]bool{}
	for _, a := range got {
		have[alertKey{a.Type, a.Resource.ID}] = true
	}
	var missing []alertKey
	for _, k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	return missing
}

func summarize(as []model.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Type + " " + a.Resource.ID + " x" + itoa(a.Count)
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestRuntimeWatchDocker runs `runtime watch --docker` against the real
// engine: a container with the Docker socket mounted, shells exec'd into a
// container, and (where the engine can run one) a privileged container
// with an exec into it must raise their alerts once each, on the container.
func TestRuntimeWatchDocker(t *testing.T) {
	testenv.Docker(t)
	image := "bulwark-runtime-watch-test:latest"
	sourcetest.HostImage(t, image)

	out := filepath.Join(t.TempDir(), "alerts.jsonl")
	// --docker-since: the engine replays what happened since, so nothing
	// races the stream's connection.
	since := time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)
	w := startWatch(t, "--docker", "--docker-since", since, "--output", out, "--window", "10m")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	exec := func(id string) {
		t.Helper()
		if o, err := sourcetest.Docker(ctx, nil, "exec", id, "sh", "-c", "id"); err != nil {
			t.Fatalf("docker exec %s sh -c id: %v: %s", id, err, o)
		}
	}
	sock := sourcetest.RunContainer(t, image, "-v", "/var/run/docker.sock:/var/run/docker.sock")
	plain := sourcetest.RunContainer(t, image)
	exec(plain)
	exec(plain)
	// A privileged container is always created (the create event carries
	// its inspect data); some engines (rootless, or inside a container
	// without every capability, like this development machine) cannot
	// start one, so the exec into it is checked only where it starts.
	priv := sourcetest.CreateContainer(t, image, "--privileged")
	_, startErr := sourcetest.Docker(ctx, nil, "start", priv)
	privRuns := startErr == nil
	if privRuns {
		exec(priv)
		exec(priv)
	} else {
		t.Logf("this engine cannot start a privileged container (%v): its create event is checked, an exec into it is not", startErr)
	}

	res := func(id string) string { return "container:" + id }
	want := []alertKey{
		{"VM_SensitiveMount", res(sock)},
		{"VM_ShellInContainer", res(plain)},
		{"VM_PrivilegedContainerArtifacts", res(priv)},
	}
	if privRuns {
		want = append(want, alertKey{"VM_PrivilegedExecutionInContainer", res(priv)})
	}
	waitAlerts(t, w, out, want)
	if code := w.stop(t); code != 0 {
		t.Fatalf("runtime watch exit %d; stderr:\n%s", code, w.stderr.String())
	}

	// After the drain: one alert id per (type, resource); repeated execs
	// into one container are one alert with their count.
	ids := map[alertKey]map[string]bool{}
	final := map[alertKey]model.Alert{}
	for _, a := range alertLines(t, out) {
		k := alertKey{a.Type, a.Resource.ID}
		if ids[k] == nil {
			ids[k] = map[string]bool{}
		}
		ids[k][a.ID] = true
		final[k] = a
	}
	for _, k := range want {
		if n := len(ids[k]); n != 1 {
			t.Errorf("%s on %s: %d alerts, want 1", k.typ, k.resource, n)
		}
		if a := final[k]; a.Resource.Kind != model.KindContainer || a.Resource.Labels["image"] != image {
			t.Errorf("%s: resource %+v, want the container of image %s", k.typ, a.Resource, image)
		}
	}
	if a := final[alertKey{"VM_ShellInContainer", res(plain)}]; a.Count != 2 || a.Properties["command"] != "sh -c id" {
		t.Errorf("VM_ShellInContainer: count %d command %q, want 2 execs of sh -c id aggregated", a.Count, a.Properties["command"])
	}
	if a := final[alertKey{"VM_SensitiveMount", res(sock)}]; !strings.Contains(a.Properties["mounts"], "/var/run/docker.sock") {
		t.Errorf("VM_SensitiveMount: mounts %q, want the docker socket", a.Properties["mounts"])
	}
	// Neither privileged nor mounting anything sensitive: only the shell.
	for k := range ids {
		if k.resource == res(plain) && k.typ != "VM_ShellInContainer" {
			t.Errorf("unexpected %s on the plain container", k.typ)
		}
		if k.resource == res(sock) && strings.Contains(k.typ, "Privileged") {
			t.Errorf("the socket-mounting container is not privileged, yet %s", k.typ)
		}
	}
	for _, line := range []string{"runtime watch started", "runtime watch stopped", "source=docker"} {
		if !strings.Contains(w.stderr.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, w.stderr.String())
		}
	}

	// Create and start of one privileged container are one alert.
	if a := final[alertKey{"VM_PrivilegedContainerArtifacts", res(priv)}]; a.Count < 1 || a.Properties["image"] != image {
		t.Errorf("VM_PrivilegedContainerArtifacts: count %d image %q", a.Count, a.Properties["image"])
	}
	if privRuns {
		if a := final[alertKey{"VM_PrivilegedExecutionInContainer", res(priv)}]; a.Count != 2 || a.Properties["command"] != "sh -c id" {
			t.Errorf("VM_PrivilegedExecutionInContainer: count %d command %q, want 2 execs aggregated", a.Count, a.Properties["command"])
		}
	}
}

func TestRuntimeWatchUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"no source", []string{"runtime", "watch"}, 2},
		{"ebpf and proc", []string{"runtime", "watch", "--ebpf", "--proc"}, 2},
		{"bad syslog", []string{"runtime", "watch", "--docker", "--syslog", "ftp://x"}, 2},
		{"bad since", []string{"runtime", "watch", "--docker", "--docker-since", "yesterday"}, 2},
		{"audit webhook without TLS or token", []string{"runtime", "watch", "--audit-webhook", "127.0.0.1:0"}, 2},
		{"audit webhook with a token, no TLS", []string{"runtime", "watch", "--audit-webhook", "127.0.0.1:0", "--audit-token", "t"}, 2},
		{"audit webhook insecure on all interfaces", []string{"runtime", "watch", "--audit-webhook", ":0", "--audit-insecure"}, 2},
		{"audit webhook insecure on a routable address", []string{"runtime", "watch", "--audit-webhook", "192.0.2.1:0", "--audit-insecure", "--audit-token", "t"}, 2},
		{"audit insecure without webhook", []string{"runtime", "watch", "--docker", "--audit-insecure"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, context.Background(), "", append([]string{"--cache-dir", t.TempDir()}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
		})
	}
}

func TestParseSyslogURL(t *testing.T) {
	tests := []struct {
		in, network, addr string
		bad               bool
	}{
		{in: "udp://127.0.0.1:514", network: "udp", addr: "127.0.0.1:514"},
		{in: "tcp://logs.example:6514", network: "tcp", addr: "logs.example:6514"},
		{in: "unix:///dev/log", network: "unix", addr: "/dev/log"},
		{in: "udp://", bad: true},
		{in: "unix://", bad: true},
		{in: "http://x:1", bad: true},
	}
	for _, tc := range tests {
		n, a, err := parseSyslogURL(tc.in)
		if (err != nil) != tc.bad || n != tc.network || a != tc.addr {
			t.Errorf("parseSyslogURL(%q) = %q, %q, %v; want %q, %q, bad=%v", tc.in, n, a, err, tc.network, tc.addr, tc.bad)
		}
	}
}

// TestRuntimeWatchAuditTwoBackends feeds one audit event through both the
// log file and the webhook receiver, as one API server does: one alert,
// counted once, and the webhook's copy dropped as a duplicate. A restart
// on the same checkpoint directory does not raise it again.
func TestRuntimeWatchAuditTwoBackends(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	out := filepath.Join(dir, "alerts.jsonl")
	cps := filepath.Join(dir, "checkpoints")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	event := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5d1e0c1a-0000-4000-8000-00000000beef",` +
		`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"create","user":{"username":"alice"},` +
		`"objectRef":{"resource":"pods","namespace":"shop","name":"p1","apiVersion":"v1"},"responseStatus":{"code":201},` +
		`"requestObject":{"kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]}},` +
		`"requestReceivedTimestamp":"2026-11-27T08:00:00.000000Z","stageTimestamp":"2026-11-27T08:00:00.100000Z"}`
	if err := os.WriteFile(logPath, []byte(event+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--audit-webhook", addr, "--audit-insecure", "--audit-token", "s3cret", "--audit-log", logPath,
		"--audit-checkpoint", cps, "--cluster", "c1", "--output", out}
	w := startWatch(t, args...)
	want := []alertKey{{"K8S_PrivilegedContainer", "c1/shop/Pod/p1"}}
	waitAlerts(t, w, out, want) // from the log

	post := func(token string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(
			`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`+event+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("posting to the audit webhook: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: HTTP %d, want 401", code)
	}
	if code := post("s3cret"); code != http.StatusOK {
		t.Fatalf("audit webhook: HTTP %d, want 200", code)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("runtime watch exit %d; stderr:\n%s", code, w.stderr.String())
	}
	got := alertLines(t, out)
	if len(got) != 1 || got[0].Count != 1 {
		t.Errorf("alerts %v, want one K8S_PrivilegedContainer with count 1", summarize(got))
	}
	if !strings.Contains(w.stderr.String(), "duplicates=1 ") || !strings.Contains(w.stderr.String(), "source=k8s-audit-webhook events=1 ") {
		t.Errorf("exit stats do not show the webhook's copy dropped as a duplicate:\n%s", w.stderr.String())
	}
	for _, want := range []string{"sender=token:1 batches_accepted=1 batches_refused=0 batches_dropped=0",
		"sender=addr:127.0.0.1 batches_accepted=0 batches_refused=1 batches_dropped=0"} {
		if !strings.Contains(w.stderr.String(), want) {
			t.Errorf("exit stats lack %q:\n%s", want, w.stderr.String())
		}
	}

	// Restart: the log's checkpoint says the first event was read; a new
	// one is, once.
	w = startWatch(t, args...)
	second := strings.NewReplacer("00000000beef", "00000000cafe", `"p1"`, `"p2"`).Replace(event)
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(second + "\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	waitAlerts(t, w, out, []alertKey{{"K8S_PrivilegedContainer", "c1/shop/Pod/p2"}})
	if code := w.stop(t); code != 0 {
		t.Fatalf("runtime watch (restart) exit %d; stderr:\n%s", code, w.stderr.String())
	}
	if got := alertLines(t, out); len(got) != 2 {
		t.Errorf("after a restart: %v, want p1 once (first run) and p2 once", summarize(got))
	}
	if !strings.Contains(w.stderr.String(), "source=k8s-audit-log events=1 ") {
		t.Errorf("restart re-read the audit log:\n%s", w.stderr.String())
	}
}

// TestRuntimeWatchNode runs `runtime watch` with the eBPF sensor and with
// /proc scanning on this host, and a process whose command line names a
// mining pool: the alert is raised on the host.
func TestRuntimeWatchNode(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "the node sensors need root")
	}
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	miner := filepath.Join(t.TempDir(), "xmrig")
	if err := os.WriteFile(miner, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, tc := range []struct{ flag, source string }{{"--ebpf", "ebpf"}, {"--proc", "proc"}} {
		t.Run(tc.source, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "alerts.jsonl")
			w := startWatch(t, tc.flag, "--node", host, "--output", out)
			// Run the "miner" until it is seen: the sensor is live only once
			// watch has started, and /proc scanning samples every second.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				for ctx.Err() == nil {
					_ = osexec.CommandContext(ctx, miner, "-c", "sleep 1.5", "stratum+tcp://pool.example:3333").Run()
				}
			}()
			want := []alertKey{{"K8S.NODE_DigitalCurrencyMining", "host:" + host}}
			waitAlerts(t, w, out, want)
			cancel()
			if code := w.stop(t); code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, w.stderr.String())
			}
			source := tc.source
			fellBack := tc.source == "ebpf" && strings.Contains(w.stderr.String(), "falling back to /proc")
			if fellBack {
				source = "proc"
			}
			var ids []string
			for _, a := range alertLines(t, out) {
				if a.Type == want[0].typ {
					ids = append(ids, a.ID)
					if len(a.Evidence) == 0 || a.Evidence[0].Source != source {
						t.Errorf("evidence %+v, want from %s", a.Evidence, source)
					}
				}
			}
			// First firing, then possibly one update with the final count.
			if len(ids) == 0 || len(ids) > 2 || ids[0] != ids[len(ids)-1] {
				t.Errorf("alert lines %v, want one alert", ids)
			}
			if fellBack {
				testenv.Skipf(t, "the eBPF sensor cannot load here (the /proc fallback worked): needs root, BTF and tracefs")
			}
			if tc.source == "ebpf" && !strings.Contains(w.stderr.String(), "ebpf hook live") {
				t.Errorf("start-up log does not say which hooks are live:\n%s", w.stderr.String())
			}
		})
	}
}

// TestRuntimeWatchFalcoStdin: Falco's JSON output piped in; watch ends by
// itself when its only source has ended, and the alert is on stdout.
func TestRuntimeWatchFalcoStdin(t *testing.T) {
	falcoLine := `{"output":"Privileged container started","priority":"Informational","rule":"Launch Privileged Container",` +
		`"time":"2026-11-20T10:04:00.000000000Z","output_fields":{"container.id":"3f2a1b0c9d8e","k8s.ns.name":"shop","k8s.pod.name":"p"},"hostname":"node-1"}`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, code := runCLI(t, ctx, "not json\n"+falcoLine+"\n", "--cache-dir", t.TempDir(), "runtime", "watch", "--falco", "-")
	if code != 0 || ctx.Err() != nil {
		t.Fatalf("exit %d (context %v); stderr:\n%s", code, ctx.Err(), stderr)
	}
	var a model.Alert
	if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &a); err != nil {
		t.Fatalf("stdout is not one alert: %v\n%s", err, stdout)
	}
	if a.Type != "K8S.NODE_PrivilegedContainerArtifacts" || a.Evidence[0].Source != "falco" {
		t.Errorf("alert %s from %s, want K8S.NODE_PrivilegedContainerArtifacts from falco", a.Type, a.Evidence[0].Source)
	}
	if !strings.Contains(stderr, "source=falco events=1 malformed=1") {
		t.Errorf("exit stats lack the falco counts:\n%s", stderr)
	}
}

// TestRuntimeWatchSinks: one alert reaches every output at once: the
// JSON-lines file, an HTTP webhook and a UDP syslog receiver.
func TestRuntimeWatchSinks(t *testing.T) {
	dir := t.TempDir()
	falcoFile := filepath.Join(dir, "falco.jsonl")
	line := `{"output":"Privileged container started","priority":"Informational","rule":"Launch Privileged Container",` +
		`"time":"2026-11-20T10:04:00.000000000Z","output_fields":{"container.id":"3f2a1b0c9d8e"},"hostname":"node-1"}`
	if err := os.WriteFile(falcoFile, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	posted := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		posted <- b
	}))
	defer srv.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()

	out := filepath.Join(dir, "alerts.jsonl")
	w := startWatch(t, "--falco", falcoFile, "--output", out, "--webhook", srv.URL, "--webhook-queue", filepath.Join(dir, "queue"),
		"--syslog", "udp://"+udp.LocalAddr().String())
	select {
	case b := <-posted:
		if !bytes.Contains(b, []byte(`"type":"K8S.NODE_PrivilegedContainerArtifacts"`)) {
			t.Errorf("webhook body %s", b)
		}
	case <-time.After(time.Minute):
		t.Fatalf("no webhook POST within a minute")
	}
	udp.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 65536)
	n, _, err := udp.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no syslog datagram: %v", err)
	}
	if !bytes.Contains(buf[:n], []byte("K8S.NODE_PrivilegedContainerArtifacts")) || !bytes.HasPrefix(buf[:n], []byte("<")) {
		t.Errorf("syslog message %q", buf[:n])
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, w.stderr.String())
	}
	if got := alertLines(t, out); len(got) != 1 || got[0].Type != "K8S.NODE_PrivilegedContainerArtifacts" {
		t.Errorf("output file: %v", summarize(got))
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "90s", want: now.Add(-90 * time.Second)},
		{in: "2026-11-27T07:00:00Z", want: now.Add(-time.Hour)},
		{in: "2026-11-27T07:00:00.5+01:00", want: time.Date(2026, 11, 27, 6, 0, 0, 5e8, time.UTC)},
		{in: "yesterday", bad: true},
		{in: "", bad: true},
	}
	for _, tc := range tests {
		got, err := parseSince(tc.in, now)
		if (err != nil) != tc.bad || !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

// TestRuntimeWatchWebhookURLRedacted: an alert webhook whose URL carries
// its token in the path and the query (as Slack's and many SIEMs' do) and
// cannot be reached: neither the start-up line nor the delivery errors
// may show the token.
func TestRuntimeWatchWebhookURLRedacted(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	event := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5d1e0c1a-0000-4000-8000-0000000000aa",` +
		`"stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"create","user":{"username":"alice"},` +
		`"objectRef":{"resource":"pods","namespace":"shop","name":"p1","apiVersion":"v1"},"responseStatus":{"code":201},` +
		`"requestObject":{"kind":"Pod","metadata":{"name":"p1"},"spec":{"containers":[{"name":"c","image":"x","securityContext":{"privileged":true}}]}},` +
		`"requestReceivedTimestamp":"2026-11-27T08:00:00.000000Z","stageTimestamp":"2026-11-27T08:00:00.100000Z"}`
	if err := os.WriteFile(logPath, []byte(event+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: every delivery fails with the URL in the error
	const pathToken, queryToken, userPass = "xoxbSECRETpathTOKEN1234567890", "qsSECRET42", "alice:pw-SECRET"
	hook := "http://" + userPass + "@" + addr + "/services/T0AB12345/B0CD67890/" + pathToken + "?key=" + queryToken
	w := startWatch(t, "--audit-log", logPath, "--audit-checkpoint", filepath.Join(dir, "cp"), "--cluster", "c1",
		"--webhook", hook, "--webhook-queue", filepath.Join(dir, "q"), "--output", filepath.Join(dir, "alerts.jsonl"))
	waitAlerts(t, w, filepath.Join(dir, "alerts.jsonl"), []alertKey{{"K8S_PrivilegedContainer", "c1/shop/Pod/p1"}})
	time.Sleep(2 * time.Second) // the first delivery attempts (backoff from 1 s)
	w.stop(t)
	log := w.stderr.String()
	if !strings.Contains(log, "alert delivery failed") {
		t.Fatalf("no delivery failure logged:\n%s", log)
	}
	for _, secret := range []string{pathToken, queryToken, "pw-SECRET", "T0AB12345", "B0CD67890"} {
		if strings.Contains(log, secret) {
			t.Errorf("the log shows %q:\n%s", secret, log)
		}
	}
	if !strings.Contains(log, "http://"+addr+"/services/REDACTED/REDACTED/REDACTED?REDACTED") {
		t.Errorf("the log does not name the webhook by its redacted URL:\n%s", log)
	}
}

// TestRuntimeWatchReleasesStartupMemory: a long-running watch gives back
// what start-up mapped once it is quiet (internal/memtrim; the idle RSS
// figures of bench/agent*.sh depend on it being wired).
func TestRuntimeWatchReleasesStartupMemory(t *testing.T) {
	falcoFile := filepath.Join(t.TempDir(), "falco.jsonl")
	if err := os.WriteFile(falcoFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, "--log-level", "debug", "--falco", falcoFile, "--output", filepath.Join(t.TempDir(), "alerts.jsonl"))
	re := regexp.MustCompile(`memory released after a burst of work" mappings=([0-9]+) mapped_bytes=([0-9]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(w.stderr.String()); m != nil {
			if m[1] == "0" || m[2] == "0" {
				t.Fatalf("the release dropped nothing: %s", m[0])
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no memory release within 30 s of start:\n%s", w.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
