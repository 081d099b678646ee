package auditpolicy

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

const sample = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: None
    users: ["system:kube-proxy"]
    verbs: [watch]
    resources: [{group: "", resources: [endpoints, services]}]
  - level: Metadata
    resources: [{group: "", resources: [secrets, configmaps]}]
  - level: RequestResponse
    resources:
      - group: ""
        resources: ["pods/*"]
      - group: apps
        resources: ["*/scale"]
  - level: Request
    verbs: [create]
    namespaces: [prod]
  - level: Metadata
`

func TestEvaluate(t *testing.T) {
	p, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	user := []string{"system:authenticated"}
	cases := []struct {
		q    Request
		want runtime.AuditLevel
	}{
		{Request{User: "system:kube-proxy", Verb: "watch", Resource: "endpoints"}, runtime.AuditNone},
		{Request{User: "alice", Groups: user, Verb: "watch", Resource: "endpoints"}, runtime.AuditMetadata},
		{Request{User: "alice", Groups: user, Verb: "get", Resource: "secrets", Namespace: "prod"}, runtime.AuditMetadata},
		{Request{User: "alice", Groups: user, Verb: "create", Resource: "pods", Namespace: "dev"}, runtime.AuditRequestResponse},    // pods/* covers pods
		{Request{User: "alice", Groups: user, Verb: "create", Resource: "pods", Subresource: "exec"}, runtime.AuditRequestResponse}, // and its subresources
		{Request{User: "alice", Groups: user, Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale"}, runtime.AuditRequestResponse},
		{Request{User: "alice", Groups: user, Verb: "update", Group: "apps", Resource: "deployments"}, runtime.AuditMetadata}, // */scale is not deployments
		{Request{User: "alice", Groups: user, Verb: "create", Group: "apps", Resource: "deployments", Namespace: "prod"}, runtime.AuditRequest},
		{Request{User: "alice", Groups: user, Verb: "create", Group: "apps", Resource: "deployments", Namespace: "dev"}, runtime.AuditMetadata},
	}
	for _, c := range cases {
		if got := p.Evaluate(c.q); got != c.want {
			t.Errorf("%+v: %s, want %s", c.q, got, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"empty":         "",
		"wrong kind":    "apiVersion: v1\nkind: ConfigMap\n",
		"bad level":     "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Everything}]\n",
		"unknown field": "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, user: [x]}]\n",
		"mixed urls":    "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None, nonResourceURLs: [/x], resources: [{group: ''}]}]\n",
		"not yaml":      "apiVersion: [\n",
		"too large":     "apiVersion: audit.k8s.io/v1\nkind: Policy\n#" + strings.Repeat("x", maxPolicy),
	} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestGenerateGivesEveryRuleWhatItReads: the generated policy, evaluated
// for each built-in rule's requests, leaves no audit rule short; Secrets
// and token requests stay at Metadata; health probes and node reads cost
// nothing; and what no rule reads gets no body.
func TestGenerateGivesEveryRuleWhatItReads(t *testing.T) {
	rs, err := runtime.Load(context.Background(), runtime.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, Generate(rs.Enabled())); err != nil {
		t.Fatal(err)
	}
	p, err := Parse(&buf) // what we write, we read back
	if err != nil {
		t.Fatalf("generated policy does not parse: %v\n%s", err, buf.String())
	}
	prof := blindspot.Profile{Feeds: []blindspot.Feed{blindspot.SourceFeed(event.SourceK8sAudit)}, Audit: Levels{Policy: p}}
	audited := 0
	for _, c := range blindspot.Analyze(rs.Enabled(), prof) {
		if strings.HasPrefix(c.Rule, "K8S_") {
			audited++
			if c.Grade != blindspot.Full {
				t.Errorf("%s under the generated policy: %s %v", c.Rule, c.Grade, c.Reasons)
			}
		}
	}
	if audited < 15 {
		t.Errorf("only %d audit rules analysed", audited)
	}
	// kube-system's own workloads are where K8S_KubeSystemContainer looks.
	for _, ns := range []string{"default", "kube-system"} {
		if l := (Levels{Policy: p, Namespace: ns}).Level("create", "", "pods", ""); l != runtime.AuditRequest {
			t.Errorf("pod create in %s: %s, want Request", ns, l)
		}
	}
	alice, groups := "alice", []string{"system:authenticated"}
	for _, q := range []Request{
		{Verb: "create", Resource: "secrets"}, {Verb: "update", Resource: "secrets"}, {Verb: "get", Resource: "secrets"},
		{Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
		{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"},
	} {
		q.User, q.Groups = alice, groups
		if got := p.Evaluate(q); got.Rank() > runtime.AuditMetadata.Rank() {
			t.Errorf("%+v recorded at %s: a secret could land in the log", q, got)
		}
	}
	for _, q := range []Request{
		{User: "system:node:n1", Groups: []string{"system:nodes", "system:authenticated"}, Verb: "get", Resource: "pods"},
		{User: "system:kube-proxy", Groups: groups, Verb: "watch", Resource: "endpoints"},
		{User: "system:kube-scheduler", Groups: groups, Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system"},
	} {
		if got := p.Evaluate(q); got != runtime.AuditNone {
			t.Errorf("%+v recorded at %s, want None", q, got)
		}
	}
	if got := p.Evaluate(Request{User: alice, Groups: groups, Verb: "get", Resource: "pods"}); got != runtime.AuditMetadata {
		t.Errorf("a user's pod read: %s, want Metadata (no rule reads its body)", got)
	}
	if got := p.Evaluate(Request{User: alice, Groups: groups, Verb: "create", Resource: "pods", Subresource: "exec"}); got != runtime.AuditMetadata {
		t.Errorf("exec: %s, want Metadata", got)
	}
}

// FuzzParse: any input is parsed or refused with an error; a parsed
// policy evaluates without panicking.
func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Request, resources: [{group: '', resources: ['*/x', 'y/*']}]}]\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := Parse(strings.NewReader(doc))
		if err != nil {
			return
		}
		for _, q := range []Request{{Verb: "create", Resource: "pods"}, {Verb: "get", Resource: "x", Subresource: "y", Namespace: "n"}} {
			if l := p.Evaluate(q); l.Rank() == 0 && l != runtime.AuditNone && l != "" {
				t.Fatalf("unknown level %q evaluated", l)
			}
		}
	})
}

// TestLevelsOmittedStage: a policy that omits ResponseComplete records
// nothing detection reads, whatever the level.
func TestLevelsOmittedStage(t *testing.T) {
	p, err := Parse(strings.NewReader("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: RequestResponse\n  omitStages: [ResponseComplete]\n  resources: [{group: '', resources: [pods]}]\n- level: Request\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := Levels{Policy: p}
	if got := l.Level("create", "", "pods", ""); got != runtime.AuditNone {
		t.Errorf("pods with ResponseComplete omitted: %s, want None", got)
	}
	if got := l.Level("create", "", "services", ""); got != runtime.AuditRequest {
		t.Errorf("services: %s, want Request", got)
	}
}
