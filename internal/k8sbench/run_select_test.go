package k8sbench

import (
	"strings"
	"testing"
)

// TestValidateSelection: ids and sections that exist pass; a typo is an
// error naming it, never an empty report.
func TestValidateSelection(t *testing.T) {
	for _, c := range []struct {
		checks, exclude []string
		bad             string
	}{
		{checks: []string{"1.2", "5.1.3", "CIS-K8S-1.1.1", "BW-K8S-CLUSTER-VERSION"}},
		{exclude: []string{"4"}},
		{checks: []string{"1.2", "99.99"}, bad: "--checks 99.99"},
		{exclude: []string{"1.2.999"}, bad: "--exclude 1.2.999"},
	} {
		err := ValidateSelection(c.checks, c.exclude)
		if (err != nil) != (c.bad != "") || err != nil && !strings.Contains(err.Error(), c.bad) {
			t.Errorf("%v / %v: err = %v, want %q", c.checks, c.exclude, err, c.bad)
		}
	}
}
