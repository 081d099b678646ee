package report

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestFindingRowMarks: KEV and EPSS are shown beside the id.
func TestFindingRowMarks(t *testing.T) {
	for _, c := range []struct {
		f    model.Finding
		want string
	}{
		{model.Finding{ID: "CVE-1"}, "CVE-1"},
		{model.Finding{ID: "CVE-2", KnownExploited: true}, "CVE-2 (KEV)"},
		{model.Finding{ID: "CVE-3", KnownExploited: true, EPSS: &model.EPSS{Score: 0.94358}}, "CVE-3 (KEV, EPSS 94.4%)"},
		{model.Finding{ID: "CVE-4", EPSS: &model.EPSS{Score: 0.0004}}, "CVE-4 (EPSS 0.0%)"},
	} {
		if got := findingRow(c.f)[0]; got != c.want {
			t.Errorf("%s: %q, want %q", c.f.ID, got, c.want)
		}
	}
}
