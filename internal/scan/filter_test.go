package scan

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// TestFilterSeverityUnknown: --severity unknown keeps findings of unknown
// severity, whether the matcher wrote "unknown" or left it empty.
func TestFilterSeverityUnknown(t *testing.T) {
	fs := []model.Finding{{ID: "a", Severity: model.SeverityHigh}, {ID: "b", Severity: model.SeverityUnknown}, {ID: "c"}}
	got := filter(append([]model.Finding(nil), fs...), Options{Severities: []model.Severity{model.SeverityUnknown}})
	if len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" {
		t.Errorf("--severity unknown kept %+v, want b and c", got)
	}
	got = filter(append([]model.Finding(nil), fs...), Options{Severities: []model.Severity{model.SeverityHigh}})
	if len(got) != 1 || got[0].ID != "a" {
		t.Errorf("--severity high kept %+v, want a", got)
	}
}
