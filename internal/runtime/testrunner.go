package runtime

import (
	"context"
	"fmt"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestResult is the outcome of one rule test case.
type TestResult struct {
	Rule  string `json:"rule"`
	File  string `json:"file"`
	Test  string `json:"test"`
	Want  bool   `json:"want_fire"`
	Fired bool   `json:"fired"`
	Pass  bool   `json:"pass"`
	// Err is set when the rule did not compile or an event was invalid.
	Err string `json:"error,omitempty"`
	// EvalErrors counts CEL run-time errors while the test ran; a rule test
	// with errors fails, since in production they would hide detections.
	EvalErrors uint64 `json:"eval_errors,omitempty"`
}

// RunTests runs every enabled rule's own test cases: each case feeds its
// events in order to a fresh engine holding only that rule and the lists,
// and checks whether the last event fired. A rule without tests yields one
// failing result, so every shipped rule is tested.
func RunTests(ctx context.Context, rs *RuleSet) []TestResult {
	var out []TestResult
	for _, r := range rs.Enabled() {
		if ctx.Err() != nil {
			break
		}
		if len(r.Tests) == 0 {
			out = append(out, TestResult{Rule: r.ID, File: r.File, Test: "(none)", Err: "rule has no tests"})
			continue
		}
		for i, tc := range r.Tests {
			res := TestResult{Rule: r.ID, File: r.File, Test: tc.Name, Want: tc.Fire}
			if res.Test == "" {
				res.Test = fmt.Sprintf("test %d", i+1)
			}
			fired, evalErrs, err := runTest(r, rs.Lists, tc)
			res.Fired, res.EvalErrors = fired, evalErrs
			switch {
			case err != nil:
				res.Err = err.Error()
			case evalErrs > 0:
				res.Err = fmt.Sprintf("%d CEL evaluation errors", evalErrs)
			default:
				res.Pass = fired == tc.Fire
			}
			out = append(out, res)
		}
	}
	return out
}

func runTest(r *Rule, lists map[string][]string, tc RuleTest) (fired bool, evalErrs uint64, err error) {
	e, err := NewFromSet(&RuleSet{Rules: []*Rule{r}, Lists: lists}, Options{})
	if err != nil {
		return false, 0, err
	}
	for i, raw := range tc.Events {
		ev, err := decodeTestEvent(raw)
		if err != nil {
			return false, 0, fmt.Errorf("event %d: %w", i+1, err)
		}
		last := i == len(tc.Events)-1
		e.Process(ev, func(a model.Alert) {
			if last && a.Type == r.ID {
				fired = true
			}
		})
	}
	return fired, e.Stats().EvalErrors, nil
}
