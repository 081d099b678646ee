package runtime

import (
	"context"
	"testing"
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
