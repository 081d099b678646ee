package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/runtime"
	"github.com/bulwarkdev/bulwark/internal/source/sourcetest"
)

// runCLI executes the CLI in-process with stdin and returns stdout, stderr
// and the exit code.
func runCLI(t *testing.T, ctx context.Context, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), errb.String(), exitCode(err)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	// sourcetest owns the -update flag of every test binary that imports it.
	sourcetest.Golden(t, filepath.Join("testdata", "runtime", name), got)
}

// TestRuntimeReplayMixed replays one recording mixing every format (audit
// Event and EventList lines, Falco JSON, auditd records, Bulwark events, a
// duplicate audit event and malformed lines).
func TestRuntimeReplayMixed(t *testing.T) {
	in := filepath.Join("testdata", "runtime", "mixed.log")
	for _, format := range []string{"json", "table"} {
		t.Run(format, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, context.Background(), "", "--log-level", "error", "runtime", "replay", "--format", format, in)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, stderr)
			}
			golden(t, "mixed."+format+".golden", []byte(stdout))
			golden(t, "mixed.summary.golden", []byte(lastLine(stderr)))
		})
	}

	// What the golden files must say, so an -update cannot bless a wrong
	// answer unnoticed.
	stdout, _, _ := runCLI(t, context.Background(), "", "--log-level", "error", "runtime", "replay", "--format", "json", in)
	got := map[string]model.Alert{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var a model.Alert
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("alert line %q: %v", sc.Text(), err)
		}
		if _, dup := got[a.Type+" "+a.Resource.ID]; dup {
			t.Errorf("alert %s on %s printed twice", a.Type, a.Resource.ID)
		}
		got[a.Type+" "+a.Resource.ID] = a
	}
	want := map[string]int{ // type + resource id -> count
		"K8S_PrivilegedContainer /shop/Pod/debug-priv":                                                     2, // the duplicate audit ID is dropped, the second create aggregated
		"K8S_SensitiveMount /shop/Pod/debug-priv":                                                          2,
		"K8S_ClusterAdminBinding /-/ClusterRoleBinding/mallory-admin":                                      1, // no cluster name, no namespace
		"K8S_DeleteEvents /shop/Event/debug-priv.17a":                                                      1,
		"K8S.NODE_ReverseShell container:3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a": 1,
	}
	for key, n := range want {
		a, ok := got[key]
		if !ok {
			t.Errorf("no alert %s; got %v", key, keys(got))
			continue
		}
		if a.Count != n {
			t.Errorf("alert %s: count %d, want %d", key, a.Count, n)
		}
	}
	for _, typ := range []string{"K8S.NODE_SuspectUserAddition", "K8S.NODE_PrivilegedContainerArtifacts"} {
		found := false
		for _, a := range got {
			found = found || a.Type == typ
		}
		if !found {
			t.Errorf("no %s alert (auditd / Falco input); got %v", typ, keys(got))
		}
	}
}

func TestRuntimeReplaySummaryAndExitCode(t *testing.T) {
	in := filepath.Join("testdata", "runtime", "mixed.log")
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of the summary line
	}{
		{"stdin with exit code", string(data), []string{"--exit-code", "3", "-"}, 3, "K8S_PrivilegedContainer", "1 file(s)"},
		{"no alerts keeps exit 0", `{"time":"2026-11-20T10:00:00Z","source":"ebpf","kind":"process.exec","process":{"exe":"/bin/true","uid":0,"euid":0}}` + "\n",
			[]string{"--exit-code", "3", "-"}, 0, "TYPE", "1 events, 0 malformed, 0 duplicates, 0 alerts"},
		{"only garbage", "{\nnot json\n", []string{"-"}, 0, "TYPE", "0 events, 2 malformed"},
		{"two files", "", []string{in, in}, 0, "K8S_ClusterAdminBinding", "2 file(s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--log-level", "error", "runtime", "replay"}, tc.args...)
			stdout, stderr, code := runCLI(t, context.Background(), tc.stdin, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if !strings.Contains(stdout, tc.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantOut, stdout)
			}
			if !strings.Contains(lastLine(stderr), tc.wantErr) {
				t.Errorf("summary %q lacks %q", lastLine(stderr), tc.wantErr)
			}
		})
	}
}

func TestRuntimeReplayUsage(t *testing.T) {
	for _, args := range [][]string{
		{"runtime", "replay"},
		{"runtime", "replay", "--format", "yaml", "x"},
	} {
		if _, _, code := runCLI(t, context.Background(), "", args...); code != 2 {
			t.Errorf("bulwark %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	if _, _, code := runCLI(t, context.Background(), "", "runtime", "replay", filepath.Join(t.TempDir(), "absent.log")); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestReplayOutput: an alert is written once its window has closed, with
// its final count; past the bound the oldest is written early and a later
// update of it is written again.
func TestReplayOutput(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	al := func(id string, min, count int) model.Alert {
		return model.Alert{ID: id, Type: "T", FirstSeen: t0.Add(time.Duration(min) * time.Minute), Count: count}
	}
	type step struct {
		send  *model.Alert
		flush int // minutes after t0; -1: none
	}
	tests := []struct {
		name  string
		max   int
		steps []step
		want  []string // id:count written, in order
		total int
	}{
		{"window closes", 10, []step{
			{send: ptr(al("a", 0, 1)), flush: -1},
			{send: ptr(al("b", 5, 1)), flush: 9},   // a's window (10m) not over
			{send: ptr(al("a", 0, 3)), flush: 10},  // a's final update, then a is due
			{send: ptr(al("c", 12, 1)), flush: 14}, // b due at 15
		}, []string{"a:3", "b:1", "c:1"}, 3},
		{"bounded", 2, []step{
			{send: ptr(al("a", 0, 1)), flush: -1},
			{send: ptr(al("b", 1, 1)), flush: -1},
			{send: ptr(al("c", 2, 1)), flush: -1}, // a written early
			{send: ptr(al("a", 0, 2)), flush: -1}, // its update: b written early, a held again
		}, []string{"a:1", "b:1", "a:2", "c:1"}, 3}, // the rest by first seen
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			o := &replayOutput{window: 10 * time.Minute, max: tc.max, write: func(a model.Alert) error {
				got = append(got, a.ID+":"+itoa(a.Count))
				return nil
			}}
			for _, st := range tc.steps {
				if st.send != nil {
					o.Send(context.Background(), *st.send)
				}
				if st.flush >= 0 {
					o.flushBefore(t0.Add(time.Duration(st.flush) * time.Minute))
				}
			}
			o.flushAll()
			if strings.Join(got, " ") != strings.Join(tc.want, " ") || o.alerts != tc.total {
				t.Errorf("wrote %v (%d alerts), want %v (%d)", got, o.alerts, tc.want, tc.total)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzRuntimeReplay feeds arbitrary recordings through the whole replay
// path (detection, parsing, every built-in rule, aggregation, JSON output):
// nothing may panic, the output stays valid JSON lines, and a good line
// after bad input is still read.
func FuzzRuntimeReplay(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "runtime", "mixed.log"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(string(seed), "\n") {
		f.Add([]byte(line))
	}
	eng, err := runtime.New(context.Background(), runtime.Options{})
	if err != nil {
		f.Fatal(err)
	}
	const good = `{"time":"2026-11-20T10:06:00Z","source":"ebpf","kind":"process.exec","host":"fuzz-node","process":{"exe":"/bin/bash","name":"bash","args":["bash","-i"],"stdio_socket":true,"uid":0,"euid":0}}`
	log := slog.New(slog.DiscardHandler)
	fl := &replayFlags{format: "json", window: 10 * time.Minute}
	f.Fuzz(func(t *testing.T, in []byte) {
		open := func(string) (io.Reader, func() error, error) {
			return strings.NewReader(string(in) + "\n" + good + "\n"), func() error { return nil }, nil
		}
		var out bytes.Buffer
		sum, err := replayEvents(context.Background(), eng, log, fl, []string{"fuzz"}, open, &out)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		if sum.Events == 0 {
			t.Fatalf("the good line after the input was not read: %+v", sum)
		}
		sc := bufio.NewScanner(&out)
		sc.Buffer(nil, 16<<20)
		found := false
		for sc.Scan() {
			var a model.Alert
			if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
				t.Fatalf("output line is not an alert: %v: %q", err, sc.Text())
			}
			found = found || (a.Type == "K8S.NODE_ReverseShell" && a.Resource.ID == "host:fuzz-node")
		}
		if !found {
			t.Errorf("the reverse shell after the input raised no alert; output:\n%s", out.String())
		}
	})
}

// BenchmarkRuntimeReplay is the replay path per event (line detection,
// parsing, de-duplication, every built-in rule, aggregation, JSON output)
// over the audit lines of the mixed recording, each with its own audit ID:
// a worst case, two thirds are privileged pod creations that raise alerts.
// bench/runtime.sh measures a realistic mix on a million-event log.
func BenchmarkRuntimeReplay(b *testing.B) {
	seed, err := os.ReadFile(filepath.Join("testdata", "runtime", "mixed.log"))
	if err != nil {
		b.Fatal(err)
	}
	var audit []string
	for _, line := range strings.Split(string(seed), "\n") {
		if strings.Contains(line, "0b3c7a52-0001-4000-8000-00000000000") && !strings.Contains(line, "EventList") {
			audit = append(audit, line)
		}
	}
	var in bytes.Buffer
	for i := 0; i < b.N; i++ {
		line := audit[i%len(audit)]
		in.WriteString(strings.Replace(line, "0b3c7a52-0001-4000-8000-00000000000", fmt.Sprintf("%08x-0001-4000-8000-", i), 1))
		in.WriteByte('\n')
	}
	eng, err := runtime.New(context.Background(), runtime.Options{})
	if err != nil {
		b.Fatal(err)
	}
	fl := &replayFlags{format: "json", window: 10 * time.Minute}
	open := func(string) (io.Reader, func() error, error) { return &in, func() error { return nil }, nil }
	b.ReportAllocs()
	b.ResetTimer()
	sum, err := replayEvents(context.Background(), eng, slog.New(slog.DiscardHandler), fl, []string{"bench"}, open, io.Discard)
	b.StopTimer()
	if err != nil || sum.Events != uint64(b.N) {
		b.Fatalf("replayed %d of %d events: %v", sum.Events, b.N, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestRuntimeReplayBlind: the same privileged-pod creation recorded at
// RequestResponse raises its alert; recorded at Metadata (no bodies, as a
// cost-saving policy writes it) it cannot, and the replay says which rules
// were blind and why, on stderr and in the JSON summary.
func TestRuntimeReplayBlind(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "source", "k8saudit", "testdata", "events", "create-privileged-pod.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	full, _ := json.Marshal(ev)
	ev["level"] = "Metadata"
	delete(ev, "requestObject")
	delete(ev, "responseObject")
	meta, _ := json.Marshal(ev)

	stdout, stderr, code := runCLI(t, context.Background(), string(full)+"\n", "--log-level", "error", "runtime", "replay", "-")
	if code != 0 || !strings.Contains(stdout, "K8S_PrivilegedContainer") || strings.Contains(stderr, "blind") {
		t.Fatalf("RequestResponse: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	sumFile := filepath.Join(t.TempDir(), "summary.json")
	stdout, stderr, code = runCLI(t, context.Background(), string(meta)+"\n", "--log-level", "error", "runtime", "replay", "--summary", sumFile, "-")
	if code != 0 || strings.Contains(stdout, "K8S_PrivilegedContainer") {
		t.Fatalf("Metadata: exit %d, stdout:\n%s", code, stdout)
	}
	for _, want := range []string{"K8S_PrivilegedContainer: create pods events arrive at audit level Metadata", "K8S_MaliciousContainerImage", "bulwark runtime audit-policy"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(lastLine(stderr), "0 alerts, 5 rules blind") {
		t.Errorf("summary line %q", lastLine(stderr))
	}
	var sum struct {
		Events int `json:"events"`
		Blind  []struct {
			Rule, Grade, Reason string
		} `json:"blind"`
	}
	b, err := os.ReadFile(sumFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary JSON: %v\n%s", err, b)
	}
	var rules []string
	for _, x := range sum.Blind {
		rules = append(rules, x.Rule)
	}
	if sum.Events != 1 || strings.Join(rules, ",") != "K8S_ExposedPostgresTrustAuth,K8S_KubeSystemContainer,K8S_MaliciousContainerImage,K8S_PrivilegedContainer,K8S_SensitiveMount" {
		t.Errorf("summary = %+v", sum)
	}
}

// TestRuntimeReplayRedactsSecrets: audit events that carry a Secret's
// data (an API server auditing secrets at RequestResponse) and a token
// request's token raise their alerts without the secret in any output
// format; the evidence keeps the object's identity.
func TestRuntimeReplayRedactsSecrets(t *testing.T) {
	const value, b64, token = "hunter2-plain", "aHVudGVyMi1iNjQ=", "eyJhbGciOiJSUzI1NiJ9.payload.signature"
	list := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"0e0e0e0e-0000-4000-8000-000000000001","stage":"ResponseComplete",` +
		`"requestURI":"/api/v1/namespaces/shop/secrets","verb":"list","user":{"username":"alice"},"userAgent":"kube-hunter/0.6.8","sourceIPs":["10.0.0.9"],` +
		`"objectRef":{"resource":"secrets","namespace":"shop","apiVersion":"v1"},"responseStatus":{"code":200},` +
		`"responseObject":{"kind":"SecretList","apiVersion":"v1","items":[{"metadata":{"name":"db","namespace":"shop"},"data":{"password":"` + b64 + `"},"stringData":{"plain":"` + value + `"}}]},` +
		`"requestReceivedTimestamp":"2026-11-27T08:00:00.000000Z","stageTimestamp":"2026-11-27T08:00:00.100000Z"}`
	tokenReq := `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"0e0e0e0e-0000-4000-8000-000000000002","stage":"ResponseComplete",` +
		`"requestURI":"/api/v1/namespaces/shop/serviceaccounts/default/token","verb":"create","user":{"username":"alice"},"userAgent":"kube-hunter/0.6.8","sourceIPs":["10.0.0.9"],` +
		`"objectRef":{"resource":"serviceaccounts","subresource":"token","namespace":"shop","name":"default","apiVersion":"v1"},"responseStatus":{"code":201},` +
		`"responseObject":{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","status":{"token":"` + token + `"}},` +
		`"requestReceivedTimestamp":"2026-11-27T08:00:01.000000Z","stageTimestamp":"2026-11-27T08:00:01.100000Z"}`
	path := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(path, []byte(list+"\n"+tokenReq+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "table"} {
		stdout, stderr, code := runCLI(t, context.Background(), "", "--cache-dir", t.TempDir(), "runtime", "replay", "--format", format, path)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		if !strings.Contains(stdout, "K8S_PenTestToolsKubeHunter") {
			t.Errorf("%s: no alert raised:\n%s", format, stdout)
		}
		for _, secret := range []string{value, b64, token, "payload.signature"} {
			if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
				t.Errorf("%s: output holds %q:\n%s", format, secret, stdout)
			}
		}
		if format == "json" && (!strings.Contains(stdout, `\"password\":\"REDACTED\"`) || !strings.Contains(stdout, `\"name\":\"db\"`)) {
			t.Errorf("json: evidence lost the object's identity or was not redacted:\n%s", stdout)
		}
	}
}
