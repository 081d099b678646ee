package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/testenv"
)

func coverageJSON(t *testing.T, args ...string) map[string]blindspot.Coverage {
	t.Helper()
	stdout, stderr, code := runCLI(t, context.Background(), "", append([]string{"runtime", "rules", "list", "--coverage", "--format", "json"}, args...)...)
	if code != 0 {
		t.Fatalf("rules list --coverage %v: exit %d: %s", args, code, stderr)
	}
	var cs []blindspot.Coverage
	if err := json.Unmarshal([]byte(stdout), &cs); err != nil {
		t.Fatalf("coverage JSON: %v\n%s", err, stdout)
	}
	m := map[string]blindspot.Coverage{}
	for _, c := range cs {
		m[c.Rule] = c
	}
	return m
}

// TestRuntimeRulesCoverage: `rules list --coverage` grades the rules for
// the sources given: an all-Metadata audit log blinds the rules that read
// bodies, /proc scanning leaves node rules partial, and the policy
// `runtime audit-policy` prints blinds none.
func TestRuntimeRulesCoverage(t *testing.T) {
	m := coverageJSON(t, "--sources", "k8s-audit,proc", "--audit-level", "Metadata")
	for id, want := range map[string]blindspot.Grade{
		"K8S_PrivilegedContainer": blindspot.Blind, "K8S_ClusterAdminBinding": blindspot.Blind, "K8S_ExecIntoPod": blindspot.Full,
		"K8S.NODE_ReverseShell": blindspot.Partial, "VM_ShellInContainer": blindspot.Blind,
	} {
		if m[id].Grade != want {
			t.Errorf("%s: %s %v, want %s", id, m[id].Grade, m[id].Reasons, want)
		}
	}
	stdout, stderr, code := runCLI(t, context.Background(), "", "runtime", "audit-policy")
	if code != 0 {
		t.Fatalf("audit-policy: exit %d: %s", code, stderr)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	for id, c := range coverageJSON(t, "--sources", "k8s-audit", "--audit-policy", pol) {
		if strings.HasPrefix(id, "K8S_") && c.Grade != blindspot.Full {
			t.Errorf("%s under the generated policy: %s %v", id, c.Grade, c.Reasons)
		}
	}
	for _, bad := range [][]string{
		{"--sources", "nosuch"},
		{"--audit-level", "Loud"},
		{"--audit-level", "Metadata", "--audit-policy", pol},
	} {
		if _, _, code := runCLI(t, context.Background(), "", append([]string{"runtime", "rules", "list", "--coverage"}, bad...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestRuntimeAuditdRulesLoad: the rules `runtime auditd-rules` prints load
// into the real kernel audit system (under a key of the test's own, removed
// at its end), and with them loaded auditd supplies every node event kind.
func TestRuntimeAuditdRulesLoad(t *testing.T) {
	requireRoot(t)
	st, err := osexec.Command("auditctl", "-s").CombinedOutput()
	if err != nil {
		testenv.Skipf(t, "needs auditctl (Debian package auditd): %v: %s", err, st)
	}
	if m := regexp.MustCompile(`(?m)^pid (\d+)`).FindStringSubmatch(string(st)); m == nil || m[1] == "0" {
		testenv.Skipf(t, "needs auditd running; auditctl -s: %s", st)
	}
	stdout, stderr, code := runCLI(t, context.Background(), "", "runtime", "auditd-rules")
	if code != 0 {
		t.Fatalf("auditd-rules: exit %d: %s", code, stderr)
	}
	key := fmt.Sprintf("bulwark-rules-test-%d", os.Getpid())
	t.Cleanup(func() {
		if o, err := osexec.Command("auditctl", "-D", "-k", key).CombinedOutput(); err != nil {
			t.Errorf("auditctl -D -k %s: %v: %s", key, err, o)
		}
	})
	loaded := 0
	for _, line := range strings.Split(stdout, "\n") {
		if line == "" || line == "-i" || strings.HasPrefix(line, "#") {
			continue
		}
		args := strings.Fields(strings.Replace(line, "-k bulwark", "-k "+key, 1))
		if o, err := osexec.Command("auditctl", args...).CombinedOutput(); err != nil {
			// A watched path that does not exist on this host is refused by
			// auditctl for files; the syscall rules must all load.
			if strings.HasPrefix(line, "-w ") {
				t.Logf("auditctl %s: %s", line, strings.TrimSpace(string(o)))
				continue
			}
			t.Fatalf("auditctl %s: %v: %s", line, err, o)
		}
		loaded++
	}
	listed, err := osexec.Command("auditctl", "-l", "-k", key).CombinedOutput()
	if err != nil {
		t.Fatalf("auditctl -l: %v: %s", err, listed)
	}
	if loaded < 6 {
		t.Fatalf("only %d rules loaded:\n%s", loaded, listed)
	}
	feed := blindspot.AuditdFeed(string(listed), "")
	for k, s := range feed.Kinds {
		if s.Grade != blindspot.Full {
			t.Errorf("with the generated rules loaded, auditd supplies %s %s: %s", k, s.Grade, s.Why)
		}
	}
	file := filepath.Join(t.TempDir(), "auditctl.txt")
	if err := os.WriteFile(file, listed, 0o644); err != nil {
		t.Fatal(err)
	}
	m := coverageJSON(t, "--sources", "auditd", "--auditctl-rules", file)
	for _, id := range []string{"K8S.NODE_ReverseShell", "K8S.NODE_NamespaceCreation", "K8S.NODE_SuspectPasswordFileAccess"} {
		if m[id].Grade != blindspot.Full {
			t.Errorf("%s with auditd and its rules: %s %v", id, m[id].Grade, m[id].Reasons)
		}
	}
	// Without them: the detections only auditd would give are blind.
	empty := filepath.Join(t.TempDir(), "none.txt")
	if err := os.WriteFile(empty, []byte("No rules\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g := coverageJSON(t, "--sources", "auditd", "--auditctl-rules", empty)["K8S.NODE_ReverseShell"].Grade; g != blindspot.Blind {
		t.Errorf("ReverseShell with auditd holding no rules: %s, want blind", g)
	}
}

// TestRuntimeWatchBlind: a watch on /proc scanning (the eBPF fallback)
// and an audit log written at Metadata reports, once each, the node rules
// /proc scanning only partly feeds and the audit rules the log's level
// blinds, in its log and on /metrics.
func TestRuntimeWatchBlind(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "source", "k8saudit", "testdata", "events", "create-privileged-pod.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["level"] = "Metadata"
	delete(ev, "requestObject")
	delete(ev, "responseObject")
	line, _ := json.Marshal(ev)
	logFile := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(logFile, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	w := startWatch(t, "--proc", "--audit-log", logFile, "--metrics-listen", addr, "--output", filepath.Join(t.TempDir(), "alerts.jsonl"))
	var metrics string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			metrics = string(b)
			if strings.Contains(metrics, `rule="K8S_PrivilegedContainer"`) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{
		`bulwark_rule_blind{rule="K8S_PrivilegedContainer",grade="blind",reason="create pods events arrive at audit level Metadata`,
		`bulwark_rule_blind{rule="K8S.NODE_ReverseShell",grade="partial",reason="process.exec events from proc`,
		`bulwark_rule_blind{rule="K8S.NODE_SuspectConnection",grade="partial",reason="net.connect events from proc`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}
	if strings.Contains(metrics, `rule="VM_ShellInContainer"`) {
		t.Errorf("a docker-only rule on a watch without docker is not blind, only unwatched:\n%s", metrics)
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("watch exit %d: %s", code, w.stderr.String())
	}
	log := w.stderr.String()
	if n := strings.Count(log, "detection rule blind"); n == 0 || !strings.Contains(log, "rule=K8S_PrivilegedContainer") {
		t.Errorf("log has %d blind lines, none for K8S_PrivilegedContainer:\n%s", n, log)
	}
	if strings.Count(log, "rule=K8S_PrivilegedContainer ") > 1 {
		t.Errorf("K8S_PrivilegedContainer reported more than once:\n%s", log)
	}
}

// TestRuntimeWatchAuditdStopped: with the audit daemon stopped, a watch on
// its log reports the detections only auditd would give as blind. The
// shared machine's auditd cannot be stopped under the other tests, so
// auditctl is stood in for by a script answering as it does then.
func TestRuntimeWatchAuditdStopped(t *testing.T) {
	bin := t.TempDir()
	script := "#!/bin/sh\ncase \"$1\" in -s) printf 'enabled 1\\nfailure 1\\npid 0\\n';; -l) echo 'No rules';; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "auditctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	logFile := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, "--auditd", logFile, "--output", filepath.Join(t.TempDir(), "alerts.jsonl"))
	ids := []string{"K8S.NODE_ReverseShell", "K8S.NODE_NamespaceCreation", "K8S.NODE_SshKeyAccess"}
	blind := func(log, id string) bool {
		return regexp.MustCompile(`detection rule blind.*rule=` + regexp.QuoteMeta(id) + ` coverage=blind reason=".*auditd is not running`).MatchString(log)
	}
	// The coverage is reported once the sources are open: wait for it (a
	// loaded machine may take seconds), then stop.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		log := w.stderr.String()
		if blind(log, ids[0]) && blind(log, ids[1]) && blind(log, ids[2]) {
			break
		}
	}
	if code := w.stop(t); code != 0 {
		t.Fatalf("watch exit %d: %s", code, w.stderr.String())
	}
	log := w.stderr.String()
	for _, id := range ids {
		if !blind(log, id) {
			t.Errorf("no blind report for %s:\n%s", id, log)
		}
	}
}
