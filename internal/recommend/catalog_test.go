package recommend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/dockerbench"
	"github.com/bulwarkdev/bulwark/internal/k8sbench"
	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
)

// engineRules lists every rule of every engine that writes assessments:
// the image scan, CIS Docker, CIS Kubernetes with Bulwark's cluster checks,
// and the workload policies (built in, PSS included).
func engineRules(t *testing.T) []string {
	t.Helper()
	rules := []string{RuleImage, RuleRunningImage, RuleHost}
	for _, c := range dockerbench.Controls() {
		rules = append(rules, "CIS-DOCKER-"+c.ID)
	}
	for _, c := range k8sbench.Controls() {
		rules = append(rules, c.Rule())
	}
	eng, err := policy.New(context.Background(), policy.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range eng.Policies() {
		rules = append(rules, p.ID)
	}
	return rules
}

func TestCatalogComplete(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	rules := engineRules(t)
	if len(rules) < 250 {
		t.Fatalf("only %d engine rules found: the enumeration is broken", len(rules))
	}
	if err := c.Check(rules); err != nil {
		t.Fatalf("catalogue incomplete or ambiguous:\n%v", err)
	}
	// Every control but the pointless one holds a recommendation.
	used := map[string]int{}
	for _, r := range c.Recommendations {
		used[r.Control]++
	}
	for _, ct := range c.Controls {
		if used[ct.ID] == 0 {
			t.Errorf("control %s has no recommendation", ct.ID)
		}
	}
}

func TestCatalogCheckFindsGaps(t *testing.T) {
	c, err := Parse([]byte(`
controls: [{id: a, title: A, max_points: 1}]
recommendations:
  - {id: REC-ONE, title: t, control: a, severity: high, description: d, remediation: [r], rules: [R-1], rule_prefixes: [X-1.]}
  - {id: REC-TWO, title: t, control: a, severity: low, description: d, remediation: [r], rules: [X-1.2, R-GONE]}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check([]string{"R-1", "X-1.2", "R-NEW"})
	for _, want := range []string{"R-NEW belongs to no recommendation", "X-1.2 belongs to 2 recommendations", "REC-TWO names rule R-GONE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: want %q in %v", want, err)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":   "controls: []\nrecommendations: []\nextra: 1\n",
		"bad id":          "controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: X, title: t, control: a, severity: high, description: d, remediation: [r], rules: [R]}]\n",
		"unknown control": "controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: REC-X, title: t, control: b, severity: high, description: d, remediation: [r], rules: [R]}]\n",
		"no rules":        "controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: REC-X, title: t, control: a, severity: high, description: d, remediation: [r]}]\n",
		"rule twice":      "controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: REC-X, title: t, control: a, severity: high, description: d, remediation: [r], rules: [R]}, {id: REC-Y, title: t, control: a, severity: high, description: d, remediation: [r], rules: [R]}]\n",
		"bad severity":    "controls: [{id: a, title: A, max_points: 1}]\nrecommendations: [{id: REC-X, title: t, control: a, severity: dire, description: d, remediation: [r], rules: [R]}]\n",
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestEvaluate(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	wl := KubeSubject("c1/shop/Deployment/web", "workload", "")
	tests := []struct {
		name    string
		results []RuleResult
		ex      []Exemption
		want    map[string][2]model.AssessmentStatus // rec -> status, underlying
		sev     map[string]model.Severity
	}{
		{
			name: "one failed rule of two makes the recommendation unhealthy",
			results: []RuleResult{
				{Rule: "BW-PSS-RUN-AS-NON-ROOT", Status: model.AssessUnhealthy, Severity: model.SeverityMedium},
				{Rule: "BW-PSS-RUN-AS-USER", Status: model.AssessHealthy, Severity: model.SeverityMedium},
				{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessHealthy, Severity: model.SeverityHigh},
			},
			want: map[string][2]model.AssessmentStatus{"REC-RUN-AS-ROOT": {"unhealthy", "unhealthy"}, "REC-PRIVILEGED": {"healthy", "healthy"}},
			sev:  map[string]model.Severity{"REC-RUN-AS-ROOT": model.SeverityMedium, "REC-PRIVILEGED": model.SeverityMedium},
		},
		{
			name: "healthy beats not assessed; not assessed alone stays so",
			results: []RuleResult{
				{Rule: "CIS-DOCKER-2.1", Status: model.AssessHealthy},
				{Rule: "CIS-DOCKER-1.1.3", Status: model.AssessNotAssessed, Evidence: []string{"no audit rules readable"}},
				{Rule: "CIS-DOCKER-5.4", Status: model.AssessNotAssessed},
			},
			want: map[string][2]model.AssessmentStatus{"REC-DOCKER-HOST": {"healthy", "healthy"}, "REC-DOCKER-CONTAINERS": {"not-assessed", "not-assessed"}},
		},
		{
			name:    "an active exemption covers; its underlying verdict stays",
			results: []RuleResult{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessUnhealthy, Severity: model.SeverityHigh}},
			ex:      []Exemption{{ID: "e1", Recommendation: "REC-PRIVILEGED", Scope: ScopeNamespace, Value: "c1/shop", Reason: "r"}},
			want:    map[string][2]model.AssessmentStatus{"REC-PRIVILEGED": {"exempt", "unhealthy"}},
		},
		{
			name:    "an expired, a revoked and an out-of-scope exemption do not",
			results: []RuleResult{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessUnhealthy, Severity: model.SeverityHigh}},
			ex: []Exemption{
				{ID: "e1", Recommendation: "REC-PRIVILEGED", Scope: ScopeAll, Reason: "r", Expires: now},
				{ID: "e2", Recommendation: "REC-PRIVILEGED", Scope: ScopeAll, Reason: "r", RevokedAt: now.Add(-time.Hour)},
				{ID: "e3", Recommendation: "REC-PRIVILEGED", Scope: ScopeNamespace, Value: "c1/other", Reason: "r"},
				{ID: "e4", Recommendation: "REC-RUN-AS-ROOT", Scope: ScopeAll, Reason: "r"},
			},
			want: map[string][2]model.AssessmentStatus{"REC-PRIVILEGED": {"unhealthy", "unhealthy"}},
		},
		{
			name:    "an engine's exempt result is unhealthy underneath",
			results: []RuleResult{{Rule: "BW-PSS-PRIVILEGED", Status: model.AssessExempt, Severity: model.SeverityHigh}},
			want:    map[string][2]model.AssessmentStatus{"REC-PRIVILEGED": {"exempt", "unhealthy"}},
		},
		{
			name:    "rules outside the catalogue are left out",
			results: []RuleResult{{Rule: "X-UNKNOWN", Status: model.AssessUnhealthy}},
			want:    map[string][2]model.AssessmentStatus{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Evaluate(wl, tc.results, tc.ex, now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d states %+v, want %d", len(got), got, len(tc.want))
			}
			for _, st := range got {
				w, ok := tc.want[st.Recommendation]
				if !ok || st.Status != w[0] || st.Underlying != w[1] {
					t.Errorf("%s: status %s underlying %s, want %v", st.Recommendation, st.Status, st.Underlying, w)
				}
				if s, ok := tc.sev[st.Recommendation]; ok && st.Severity != s {
					t.Errorf("%s: severity %s, want %s", st.Recommendation, st.Severity, s)
				}
				if st.Status == model.AssessUnhealthy && len(st.Evidence) == 0 {
					t.Errorf("%s: unhealthy without evidence", st.Recommendation)
				}
			}
		})
	}
}

func TestExemptionCovers(t *testing.T) {
	img := Subject{ResourceID: "sha256:1", Repositories: []string{"reg/app"}, Clusters: []string{"c1"}, Namespaces: []string{"c1/shop", "c1/web"}}
	for _, tc := range []struct {
		e    Exemption
		want bool
	}{
		{Exemption{Scope: ScopeAll}, true},
		{Exemption{Scope: ScopeResource, Value: "sha256:1"}, true},
		{Exemption{Scope: ScopeResource, Value: "sha256:2"}, false},
		{Exemption{Scope: ScopeRepository, Value: "reg/app"}, true},
		{Exemption{Scope: ScopeRepository, Value: "reg/other"}, false},
		{Exemption{Scope: ScopeCluster, Value: "c1"}, true},
		// It also runs in c1/web: a shop-only exemption must not hide it there.
		{Exemption{Scope: ScopeNamespace, Value: "c1/shop"}, false},
	} {
		if got := tc.e.Covers(img); got != tc.want {
			t.Errorf("%s %q covers = %v, want %v", tc.e.Scope, tc.e.Value, got, tc.want)
		}
	}
	if (Exemption{Scope: ScopeCluster, Value: "c1"}).Covers(Subject{ResourceID: "sha256:9"}) {
		t.Error("an image running nowhere is in no cluster")
	}
}

func TestExemptionValidate(t *testing.T) {
	c, _ := Default()
	for _, tc := range []struct {
		e  Exemption
		ok bool
	}{
		{Exemption{Recommendation: "REC-PRIVILEGED", Scope: ScopeAll, Reason: "r"}, true},
		{Exemption{Vulnerability: "CVE-2024-1", Scope: ScopeRepository, Value: "r/a", Reason: "r", UntilFix: true}, true},
		{Exemption{Recommendation: "REC-NOPE", Scope: ScopeAll, Reason: "r"}, false},
		{Exemption{Recommendation: "REC-PRIVILEGED", Vulnerability: "CVE-1", Scope: ScopeAll, Reason: "r"}, false},
		{Exemption{Recommendation: "REC-PRIVILEGED", Scope: ScopeAll}, false},
		{Exemption{Recommendation: "REC-PRIVILEGED", Scope: ScopeNamespace, Value: "shop", Reason: "r"}, false},
		{Exemption{Recommendation: "REC-PRIVILEGED", Scope: "team", Reason: "r"}, false},
		{Exemption{Recommendation: "REC-PRIVILEGED", Scope: ScopeAll, Reason: "r", UntilFix: true}, false},
	} {
		if err := tc.e.Validate(c); (err == nil) != tc.ok {
			t.Errorf("%+v: err %v, want ok=%v", tc.e, err, tc.ok)
		}
	}
}
