package blindspot

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

func builtins(t testing.TB) []*runtime.Rule {
	t.Helper()
	rs, err := runtime.Load(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rs.Enabled()
}

func grades(cs []Coverage) map[string]Grade {
	m := map[string]Grade{}
	for _, c := range cs {
		m[c.Rule] = c.Grade
	}
	return m
}

// readsBodies are the built-in audit rules that read the request object:
// blind when the API server records only metadata.
var readsBodies = []string{"K8S_ClusterAdminBinding", "K8S_ExposedDashboard", "K8S_ExposedKubeflow",
	"K8S_ExposedPostgresBroadIPRange", "K8S_ExposedPostgresTrustAuth", "K8S_ExposedRedis", "K8S_ExposedService",
	"K8S_HighPrivilegesRole", "K8S_KubeSystemContainer", "K8S_MaliciousContainerImage", "K8S_PrivilegedContainer", "K8S_SensitiveMount"}

func TestAnalyze(t *testing.T) {
	rules := builtins(t)
	all := Profile{}
	for _, s := range []event.Source{event.SourceK8sAudit, event.SourceDocker, event.SourceEBPF, event.SourceAuditd, event.SourceFalco} {
		all.Feeds = append(all.Feeds, SourceFeed(s))
	}
	cases := []struct {
		name  string
		p     Profile
		check func(t *testing.T, g map[string]Grade, cs []Coverage)
	}{
		{"every source at RequestResponse", Profile{Feeds: all.Feeds, Audit: FixedLevel(runtime.AuditRequestResponse)},
			func(t *testing.T, g map[string]Grade, cs []Coverage) {
				for _, c := range cs {
					// Only the file rules fall short: the sensor hooks openat
					// only, and auditd file events need watches on the paths.
					if c.Grade != Full {
						t.Errorf("%s: %s %v", c.Rule, c.Grade, c.Reasons)
					}
				}
			}},
		{"audit at Metadata", Profile{Feeds: []Feed{SourceFeed(event.SourceK8sAudit)}, Audit: FixedLevel(runtime.AuditMetadata)},
			func(t *testing.T, g map[string]Grade, cs []Coverage) {
				for _, id := range readsBodies {
					if g[id] != Blind {
						t.Errorf("%s at Metadata: %s, want blind", id, g[id])
					}
				}
				for _, id := range []string{"K8S_ExecIntoPod", "K8S_DeleteEvents", "K8S_CoreDnsModification", "K8S_PenTestToolsKubeHunter"} {
					if g[id] != Full {
						t.Errorf("%s reads metadata only: %s, want full", id, g[id])
					}
				}
				// It fires on metadata; only its alert's webhook list needs the body.
				if g["K8S_AdmissionController"] != Partial {
					t.Errorf("K8S_AdmissionController at Metadata: %s, want partial", g["K8S_AdmissionController"])
				}
			}},
		{"/proc fallback", Profile{Feeds: []Feed{SourceFeed(event.SourceProc)}},
			func(t *testing.T, g map[string]Grade, cs []Coverage) {
				for _, id := range []string{"K8S.NODE_ReverseShell", "K8S.NODE_SuspectConnection", "K8S.NODE_DigitalCurrencyMining"} {
					if g[id] != Partial {
						t.Errorf("%s under /proc scanning: %s, want partial", id, g[id])
					}
				}
				if g["VM_ShellInContainer"] != Blind {
					t.Errorf("VM_ShellInContainer (docker only) without docker: %s", g["VM_ShellInContainer"])
				}
			}},
		{"auditd without rules", Profile{Feeds: []Feed{AuditdFeed("No rules\n", "")}},
			func(t *testing.T, g map[string]Grade, cs []Coverage) {
				for _, id := range []string{"K8S.NODE_ReverseShell", "K8S.NODE_NamespaceCreation", "K8S.NODE_SshKeyAccess"} {
					if g[id] != Blind {
						t.Errorf("%s with auditd holding no rules: %s, want blind", id, g[id])
					}
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs := Analyze(rules, c.p)
			if len(cs) != len(rules) {
				t.Fatalf("%d coverages for %d rules", len(cs), len(rules))
			}
			for _, cv := range cs {
				if cv.Grade != Full && len(cv.Reasons) == 0 {
					t.Errorf("%s is %s without a reason", cv.Rule, cv.Grade)
				}
			}
			c.check(t, grades(cs), cs)
		})
	}
}

func TestAuditdFeed(t *testing.T) {
	listed := `-a always,exit -F arch=b64 -S execve,execveat -F key=bulwark
-a never,exit -F arch=b64 -S connect
-w /etc/shadow -p rwa -k bulwark
`
	f := AuditdFeed(listed, "")
	want := map[event.Kind]Grade{event.KindProcessExec: Full, event.KindFile: Full, event.KindNetConnect: Blind, event.KindNamespace: Blind}
	for k, g := range want {
		if f.Kinds[k].Grade != g {
			t.Errorf("%s: %s (%s), want %s", k, f.Kinds[k].Grade, f.Kinds[k].Why, g)
		}
	}
	if u := AuditdFeed("", "permission denied"); u.Kinds[event.KindProcessExec].Grade != Partial {
		t.Errorf("unknown auditd rules: %+v", u.Kinds[event.KindProcessExec])
	}
}

func TestEBPFFeed(t *testing.T) {
	f := EBPFFeed(map[string]bool{"raw_tracepoint/sched_process_exec": true, "tracepoint/syscalls/sys_enter_connect": false,
		"tracepoint/syscalls/sys_exit_connect": false, "tracepoint/syscalls/sys_enter_unshare": true})
	if f.Kinds[event.KindProcessExec].Grade != Full || f.Kinds[event.KindNetConnect].Grade != Blind || f.Kinds[event.KindNamespace].Grade != Full {
		t.Errorf("feed = %+v", f.Kinds)
	}
	if !strings.Contains(f.Kinds[event.KindNetConnect].Why, "sys_enter_connect") {
		t.Errorf("why = %q", f.Kinds[event.KindNetConnect].Why)
	}
}

func TestObserver(t *testing.T) {
	var reported []Blindness
	o := NewObserver(builtins(t), func(b Blindness) { reported = append(reported, b) })
	ev := func(level, verb, resource, sub string) *event.Event {
		return &event.Event{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit,
			K8s: &event.K8sAudit{Level: level, Verb: verb, Resource: resource, Subresource: sub}}
	}
	for range 3 { // repeats are reported once
		o.Observe(ev("Metadata", "create", "pods", ""))
	}
	o.Observe(ev("Request", "create", "pods", ""))       // enough
	o.Observe(ev("Metadata", "get", "pods", ""))         // no rule reads get bodies
	o.Observe(ev("Metadata", "create", "pods", "exec"))  // exec: metadata rules only
	o.Observe(ev("Metadata", "create", "secrets", ""))   // nobody reads secrets
	o.Observe(ev("", "create", "pods", ""))              // level unknown (a Bulwark event)
	o.Observe(&event.Event{Kind: event.KindProcessExec}) // not audit
	got := o.Rules()
	want := "K8S_ExposedPostgresTrustAuth,K8S_KubeSystemContainer,K8S_MaliciousContainerImage,K8S_PrivilegedContainer,K8S_SensitiveMount"
	if strings.Join(got, ",") != want {
		t.Errorf("blind rules = %v\nwant %s", got, want)
	}
	if len(reported) != 5 {
		t.Errorf("%d reports, want one per rule: %+v", len(reported), reported)
	}
	var buf bytes.Buffer
	if err := o.WriteMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `bulwark_rule_blind{rule="K8S_PrivilegedContainer",grade="blind",reason="create pods events arrive at audit level Metadata`) {
		t.Errorf("metrics:\n%s", buf.String())
	}
}

// BenchmarkObserve is the cost on the engine goroutine per audit event:
// the common case (a level that suffices) and the blind case.
func BenchmarkObserve(b *testing.B) {
	o := NewObserver(builtins(b), nil)
	ok := &event.Event{Kind: event.KindK8sAudit, K8s: &event.K8sAudit{Level: "RequestResponse", Verb: "create", Resource: "pods"}}
	short := &event.Event{Kind: event.KindK8sAudit, K8s: &event.K8sAudit{Level: "Metadata", Verb: "create", Resource: "pods"}}
	b.Run("sufficient", func(b *testing.B) {
		for b.Loop() {
			o.Observe(ok)
		}
	})
	b.Run("metadata", func(b *testing.B) {
		for b.Loop() {
			o.Observe(short)
		}
	})
}

// FuzzAuditdFeed: any `auditctl -l` text gives a feed with every kind graded.
func FuzzAuditdFeed(f *testing.F) {
	f.Add("-a always,exit -F arch=b64 -S execve -k x\n-w /etc/shadow -p r\n")
	f.Add("-a\n-A never\n-a always,exit -S\n")
	f.Fuzz(func(t *testing.T, listed string) {
		feed := AuditdFeed(listed, "")
		for _, k := range []event.Kind{event.KindProcessExec, event.KindNetConnect, event.KindFile, event.KindNamespace} {
			if g := feed.Kinds[k].Grade; g != Full && g != Blind {
				t.Fatalf("%s graded %q", k, g)
			}
		}
	})
}
