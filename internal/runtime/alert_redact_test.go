package runtime

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAlertEvidenceRedactedAndCut: evidence is redacted before it is cut,
// and cut on a rune boundary however the multi-byte text falls.
func TestAlertEvidenceRedactedAndCut(t *testing.T) {
	for pad := range 4 {
		obj := `{"kind":"Pod","metadata":{"name":"p","annotations":{"n":"` + strings.Repeat("x", pad) + strings.Repeat("é€😀", 2000) + `"}}}`
		ev := auditEvent("create", "pods", "ns", "p", obj)
		ev.Raw = json.RawMessage(obj)
		a := buildAlert(&Rule{ID: "T"}, ev, nil)
		raw := a.Evidence[0].Raw
		if !utf8.ValidString(raw) || len(raw) > MaxRawEvidence {
			t.Errorf("pad %d: raw evidence of %d bytes, valid UTF-8 %v; want at most %d, valid", pad, len(raw), utf8.ValidString(raw), MaxRawEvidence)
		}
	}
	ev := execEvent("/usr/bin/curl", "curl", "-H", "Authorization: Bearer sekr1t-token-value", "https://api.example/x")
	ev.Raw = json.RawMessage(`{"args":["curl","-H","Authorization: Bearer sekr1t-token-value"]}`)
	a := buildAlert(&Rule{ID: "T"}, ev, map[string]string{"cmdline": "curl -H Authorization: Bearer sekr1t-token-value"})
	b, _ := json.Marshal(a)
	if strings.Contains(string(b), "sekr1t") {
		t.Errorf("alert holds the bearer token:\n%s", b)
	}
}
