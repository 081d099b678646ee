package runtime

import (
	"context"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/event"
)

// TestBuiltinRules runs every built-in rule's own test cases.
func TestBuiltinRules(t *testing.T) {
	rs, err := Load(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Enabled()) == 0 {
		t.Fatal("no built-in rules loaded")
	}
	if _, err := NewFromSet(rs, Options{}); err != nil {
		t.Fatalf("compiling the built-in rule set: %v", err)
	}
	for _, res := range RunTests(context.Background(), rs) {
		t.Run(res.Rule+"/"+res.Test, func(t *testing.T) {
			if !res.Pass {
				t.Errorf("%s: want fire=%v, fired=%v %s", res.File, res.Want, res.Fired, res.Err)
			}
		})
	}
}

// TestBuiltinNeedsDeclared: every built-in audit rule declares the audit
// level it needs, and the declaration is never below what its CEL reads
// (so the data cannot drift from the conditions).
func TestBuiltinNeedsDeclared(t *testing.T) {
	rs, err := Load(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	bodies := 0
	for _, r := range rs.Rules {
		audit := false
		for _, k := range r.Kinds {
			audit = audit || k == "k8s.audit"
		}
		if !audit {
			continue
		}
		if r.Needs.Audit == "" {
			t.Errorf("%s reads audit events but declares no needs.audit", r.ID)
			continue
		}
		got := r.Requirements()
		if got.Audit != r.Needs.Audit {
			t.Errorf("%s declares needs.audit %s but its condition reads what needs %s", r.ID, r.Needs.Audit, got.Audit)
		}
		if d := cmpOr(r.Needs.Details, r.Needs.Audit); got.Details != d {
			t.Errorf("%s declares needs.details %s but its output reads what needs %s", r.ID, d, got.Details)
		}
		if r.Needs.Audit == AuditRequest {
			bodies++
		}
	}
	if bodies != 12 {
		t.Errorf("%d built-in rules need request bodies to fire, want 12", bodies)
	}
}

func cmpOr(a, b AuditLevel) AuditLevel {
	if a != "" {
		return a
	}
	return b
}

func TestNeedsInferred(t *testing.T) {
	for cond, want := range map[string]AuditLevel{
		`evt.k8s.verb == "create"`:                  AuditMetadata,
		`any_privileged(evt.k8s.object)`:            AuditRequest,
		`has(evt.k8s.request_object.spec)`:          AuditRequest,
		`evt.k8s.response_object.status.phase == 1`: AuditRequestResponse,
		`evt.k8s.objectives == 1`:                   AuditMetadata, // a word boundary, not a prefix
	} {
		r := &Rule{ID: "X", Kinds: []event.Kind{event.KindK8sAudit}, Condition: cond}
		if got := r.Requirements().Audit; got != want {
			t.Errorf("%s: %s, want %s", cond, got, want)
		}
	}
	// What only the output reads raises Details, not Audit.
	r := &Rule{ID: "X", Kinds: []event.Kind{event.KindK8sAudit}, Condition: "true", Output: map[string]string{"w": "string(evt.k8s.object.kind)"}}
	if n := r.Requirements(); n.Audit != AuditMetadata || n.Details != AuditRequest {
		t.Errorf("output-only read: %+v, want audit Metadata, details Request", n)
	}
	if _, err := ParseRules("x.yaml", []byte("id: X\ntitle: x\nseverity: low\nneeds: {audit: Everything}\ncondition: 'true'\n")); err == nil {
		t.Error("needs.audit Everything accepted")
	}
}
