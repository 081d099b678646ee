package policy

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestCombinedMatchesPerPolicy: the combined query and one query per
// policy give the same result on every fixture object, and a user policy
// that fails at run time (conflicting values) is skipped by name while the
// others still report.
func TestCombinedMatchesPerPolicy(t *testing.T) {
	const failing = `package bulwark.policies.conflict
metadata := {"id": "ACME-CONFLICT", "title": "t", "severity": "low", "description": "d", "remediation": "r", "default_mode": "audit"}
x := 1 if input.kind != ""
x := 2 if input.kind != ""
violation contains {"msg": "never"} if x == 3
`
	const undefined = `package bulwark.policies.noviolation
metadata := {"id": "ACME-NO-VIOLATION-RULE", "title": "t", "severity": "low", "description": "d", "remediation": "r", "default_mode": "audit"}
`
	const bareInput = `package bulwark.policies.bare
metadata := {"id": "ACME-BARE", "title": "t", "severity": "low", "description": "d", "remediation": "r", "default_mode": "audit"}
violation contains {"msg": sprintf("label %s missing", [l])} if {
	l := object.get(input, ["params", "label"], "none")
	not input.metadata.labels[l]
}
`
	const noMsg = `package bulwark.policies.nomsg
metadata := {"id": "ACME-NO-MSG", "title": "t", "severity": "low", "description": "d", "remediation": "r", "default_mode": "audit"}
violation contains {"path": "spec", "message": "msg misspelt"} if input.kind != ""
`
	const notSet = `package bulwark.policies.notset
metadata := {"id": "ACME-NOT-SET", "title": "t", "severity": "low", "description": "d", "remediation": "r", "default_mode": "audit"}
violation := {"msg": "an object, not a set"}
`
	objects := []string{
		workload("Deployment", "shop", compliantSpec),
		workload("Pod", "shop", `{"containers": [{"name": "a", "image": "nginx:latest", "securityContext": {"privileged": true}}]}`),
		`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"}, "spec": {"type": "LoadBalancer"}}`,
	}
	tests := []struct {
		name     string
		policies map[string]string
		scan     bool
		wantSkip string
		params   map[string]any
		single   bool // the combined query cannot be used
	}{
		{name: "built-in only"},
		{name: "built-in with scan results", scan: true},
		{name: "a failing user policy", policies: map[string]string{"c.rego": failing}, wantSkip: "ACME-CONFLICT"},
		{name: "a user policy's violation without msg", policies: map[string]string{"m.rego": noMsg}, wantSkip: "ACME-NO-MSG"},
		{name: "a user policy's violation not a set", policies: map[string]string{"n.rego": notSet}, wantSkip: "ACME-NOT-SET"},
		{name: "a user policy without violation rule", policies: map[string]string{"u.rego": undefined}},
		{name: "a user policy reading input whole", policies: map[string]string{"b.rego": bareInput}, params: map[string]any{"label": "team"}, single: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tt.policies != nil {
				dir := t.TempDir()
				for n, src := range tt.policies {
					if err := os.WriteFile(filepath.Join(dir, n), []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				cfg.PolicyDirs = []string{dir}
			}
			if tt.params != nil {
				cfg.Policies = map[string]PolicyConfig{"ACME-BARE": {Params: tt.params}}
			}
			var opts []Option
			if tt.scan {
				opts = append(opts, WithImageVerdicts(func(img string) (model.ImageVerdict, bool) { return critical(2), img != "nginx:latest" }))
			}
			combined, err := New(context.Background(), cfg, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if (combined.combined == nil) != tt.single {
				t.Fatalf("combined query prepared: %v, want %v", combined.combined != nil, !tt.single)
			}
			single, err := New(context.Background(), cfg, opts...)
			if err != nil {
				t.Fatal(err)
			}
			single.combined = nil
			for _, src := range objects {
				obj := mustObject(t, src)
				a, err := combined.Evaluate(context.Background(), obj)
				if err != nil {
					t.Fatal(err)
				}
				b, err := single.Evaluate(context.Background(), mustObject(t, src))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, b) {
					t.Errorf("%s %s: combined\n%+v\nper policy\n%+v", a.Kind, a.Name, a, b)
				}
				if tt.wantSkip != "" && !strings.Contains(a.Skipped[tt.wantSkip], "evaluation error") {
					t.Errorf("%s: skipped = %v, want %s with an evaluation error", a.Kind, a.Skipped, tt.wantSkip)
				}
				if tt.single && !slices.ContainsFunc(a.Violations, func(v Violation) bool { return v.Message == "label team missing" }) {
					t.Errorf("%s: the policy did not get its params: %+v", a.Kind, a.Violations)
				}
				if a.Kind == "Pod" && len(a.Violations) == 0 {
					t.Errorf("privileged pod: no violations")
				}
			}
		})
	}
}
