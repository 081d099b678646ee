package policy

import (
	"context"
	"fmt"
	"io/fs"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRegoPolicies runs the Rego unit tests shipped with the built-in
// policies (builtin/*_test.rego), so `go test` runs `opa test`.
func TestRegoPolicies(t *testing.T) {
	names, err := fs.Glob(builtinFS, "builtin/*.rego")
	if err != nil {
		t.Fatal(err)
	}
	modules := map[string]*ast.Module{}
	tests := 0
	for _, n := range names {
		src, err := builtinFS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		m, err := parseModule(n, src)
		if err != nil {
			t.Fatal(err)
		}
		modules[n] = m
		if len(n) > len("_test.rego") && n[len(n)-len("_test.rego"):] == "_test.rego" {
			tests++
		}
	}
	if tests == 0 {
		t.Fatal("no builtin/*_test.rego files")
	}
	facts, err := pssFactsModule()
	if err != nil {
		t.Fatal(err)
	}
	modules["pss_facts.rego"] = facts
	ran, failures, err := runRegoTests(context.Background(), modules)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Error(f)
	}
	if ran < tests {
		t.Errorf("ran %d Rego tests from %d test files", ran, tests)
	}
	t.Logf("ran %d Rego tests", ran)
}

// runRegoTests runs the test rules of modules and describes each failure.
func runRegoTests(ctx context.Context, modules map[string]*ast.Module) (ran int, failures []string, err error) {
	ch, err := tester.NewRunner().SetModules(modules).Run(ctx, modules)
	if err != nil {
		return 0, nil, fmt.Errorf("run rego tests: %w", err)
	}
	for r := range ch {
		ran++
		switch {
		case r.Error != nil:
			failures = append(failures, fmt.Sprintf("%s.%s: error: %v", r.Package, r.Name, r.Error))
		case !r.Pass():
			failures = append(failures, fmt.Sprintf("%s.%s (%s): FAIL", r.Package, r.Name, r.Location))
		}
	}
	return ran, failures, nil
}

// TestRunRegoTestsReportsFailures guards the harness itself: a failing
// Rego test must surface as a failure.
func TestRunRegoTestsReportsFailures(t *testing.T) {
	m, err := parseModule("x_test.rego", []byte("package x_test\n\ntest_ok if true\n\ntest_bad if 1 == 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	ran, failures, err := runRegoTests(context.Background(), map[string]*ast.Module{"x_test.rego": m})
	if err != nil {
		t.Fatal(err)
	}
	if ran != 2 || len(failures) != 1 {
		t.Fatalf("ran %d, failures %q; want 2 run, 1 failure", ran, failures)
	}
}
