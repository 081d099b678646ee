package e2e

import (
	"encoding/json"
	"slices"
	"testing"

	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// TestPSSControlsCovered checks that every check of the PodSecurity
// admission the API server runs (k8s.io/pod-security-admission at the
// pinned version) has a built-in policy naming it as its pss_control, in
// the right sets: baseline checks in pss-baseline and pss-restricted,
// restricted checks in pss-restricted only; and that no policy names a
// control the reference does not have.
func TestPSSControlsCovered(t *testing.T) {
	var rep struct {
		Policies []struct {
			ID         string   `json:"id"`
			Sets       []string `json:"sets"`
			PSSControl string   `json:"pss_control"`
		} `json:"policies"`
	}
	out := runBulwark(t, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), nil, "scan", "k8s", "--format", "json", "-")
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("decoding scan k8s --format json: %v", err)
	}
	ours := map[string][]string{} // control → sets
	for _, p := range rep.Policies {
		if p.PSSControl == "" {
			continue
		}
		if _, dup := ours[p.PSSControl]; dup {
			t.Errorf("two policies name pss_control %q", p.PSSControl)
		}
		ours[p.PSSControl] = p.Sets
	}
	checks := psapolicy.DefaultChecks()
	if len(checks) < 19 {
		t.Fatalf("the reference has %d checks; expected at least the 19 of Kubernetes 1.36", len(checks))
	}
	ref := map[string]bool{}
	for _, c := range checks {
		id := string(c.ID)
		ref[id] = true
		sets, ok := ours[id]
		if !ok {
			t.Errorf("PodSecurity check %q (%s) has no bulwark policy", id, c.Level)
			continue
		}
		inBaseline, inRestricted := slices.Contains(sets, "pss-baseline"), slices.Contains(sets, "pss-restricted")
		wantBaseline := c.Level == psaapi.LevelBaseline
		if inBaseline != wantBaseline || !inRestricted {
			t.Errorf("policy for %q (%s level) is in sets %v; want pss-restricted, and pss-baseline=%t", id, c.Level, sets, wantBaseline)
		}
	}
	for id := range ours {
		if !ref[id] {
			t.Errorf("a policy names pss_control %q, which PodSecurity does not have", id)
		}
	}
}
