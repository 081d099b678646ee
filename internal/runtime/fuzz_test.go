package runtime

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/model"
)

// FuzzLoadRule: any rule file either loads with a clear error or compiles
// into an engine that evaluates an event without panicking.
func FuzzLoadRule(f *testing.F) {
	f.Add([]byte(ruleAny))
	f.Add([]byte("id: X\nenabled: false\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rules, err := ParseRules("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		e, err := NewFromSet(&RuleSet{Rules: rules, Lists: map[string][]string{"shells": {"sh"}}}, Options{MaxKeys: 4})
		if err != nil {
			return
		}
		evs := []*event.Event{
			{Source: event.SourceEBPF, Kind: event.KindProcessExec, Process: &event.Process{Exe: "/bin/sh", Args: []string{"sh", "-c", "id"}}},
			{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, Action: "create",
				K8s: &event.K8sAudit{Verb: "create", Resource: "pods", RequestObject: []byte(`{"spec":{"containers":[{"image":"x"}]}}`)}},
			{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, K8s: &event.K8sAudit{RequestObject: []byte(`{"spec":`)}},
		}
		for _, ev := range evs {
			e.Process(ev, func(model.Alert) {})
		}
		_ = RunTests(t.Context(), &RuleSet{Rules: rules})
	})
}

// FuzzAuditObject: any request object bytes (truncated, deep, odd types)
// go through every built-in audit rule without a panic.
func FuzzAuditObject(f *testing.F) {
	f.Add([]byte(`{"kind":"Pod","spec":{"containers":[{"image":"x","securityContext":{"privileged":true}}]}}`))
	e, err := New(f.Context(), Options{}) // one engine: it is built for streams
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		for _, res := range []string{"pods", "deployments", "clusterrolebindings", "services", "configmaps"} {
			ev := &event.Event{Source: event.SourceK8sAudit, Kind: event.KindK8sAudit, Action: "create",
				K8s: &event.K8sAudit{Verb: "create", Resource: res, Namespace: "kube-system", Code: 201, RequestObject: obj}}
			e.Process(ev, func(model.Alert) {})
		}
	})
}

// objectNameRef is the definition metaNames must agree with: the names as
// k.Object() (a full encoding/json decode) sees them.
func objectNameRef(raw []byte) (string, string) {
	k := &event.K8sAudit{RequestObject: raw}
	md, _ := k.Object()["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	gen, _ := md["generateName"].(string)
	return name, gen
}

// FuzzMetaNames: the alert resource name read without a full decode is
// the one a full decode gives, for any bytes.
func FuzzMetaNames(f *testing.F) {
	for _, s := range metaNameCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, g := metaNames(raw)
		wn, wg := objectNameRef(raw)
		if n != wn || g != wg {
			t.Fatalf("metaNames(%q) = %q, %q; full decode %q, %q", raw, n, g, wn, wg)
		}
	})
}

var metaNameCases = []string{
	`{"metadata":{"name":"web-1"}}`,
	`{"metadata":{"generateName":"web-"}}`,
	`{"metadata":{"name":"a","name":"b"},"metadata":{"generateName":"c"}}`,
	`{"Metadata":{"name":"a"},"metadata":{"Name":"b"}}`,
	`{"metadata":{"name":5,"generateName":null}}`,
	`{"metadata":null}`, `{"metadata":[1]}`, `null`, `[]`, `"x"`, `{"metadata":{"name":"a"}`,
	`{"metadata":{"name":"\u00e9\ud800\xff"}}`, ` {"metadata" : {"name" : "a" } } `,
	`{"metadata":{"name":"a"}} x`,
}

func TestMetaNames(t *testing.T) {
	for _, c := range metaNameCases {
		n, g := metaNames([]byte(c))
		wn, wg := objectNameRef([]byte(c))
		if n != wn || g != wg {
			t.Errorf("metaNames(%q) = %q, %q; full decode %q, %q", c, n, g, wn, wg)
		}
	}
}

// FuzzParseExceptions: an exceptions document (a file, or the server's
// copy an admin PUTs) either parses or fails with a message naming the
// document; it never panics.
func FuzzParseExceptions(f *testing.F) {
	f.Add([]byte("exceptions:\n  - rules: ['*']\n    hosts: [db-*]\n    reason: DBA sessions\n"))
	f.Add([]byte("exceptions:\n  - rules: [T_Pod]\n    images: [registry.internal/*]\n    reason: ours\n"))
	f.Add([]byte("exceptions: [{rules: []}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		exc, err := ParseExceptions("fuzz.yaml", data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, e := range exc {
			if e == nil {
				t.Fatal("nil exception without an error")
			}
		}
	})
}
