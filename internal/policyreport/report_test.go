package policyreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var testPolicies = []policy.Policy{
	{ID: "BW-K8S-IMAGE-TAG", Title: "Images pinned", Severity: model.SeverityMedium, Description: "No :latest.", Remediation: "Pin the image by digest.", DefaultMode: policy.ModeAudit, Mode: policy.ModeAudit, Sets: []string{"defender"}, Builtin: true},
	{ID: "BW-K8S-VULNS", Title: "No critical vulnerabilities", Severity: model.SeverityHigh, Remediation: "Rebuild.", DefaultMode: policy.ModeAudit, Mode: policy.ModeAudit, Sets: []string{"defender"}, Builtin: true},
	{ID: "BW-PSS-PRIVILEGED", Title: "Privileged containers", Severity: model.SeverityHigh, Description: "Privileged containers disable most isolation.", Remediation: "Remove securityContext.privileged.", DefaultMode: policy.ModeEnforce, Mode: policy.ModeEnforce, Sets: []string{"pss-baseline", "pss-restricted"}, PSSControl: "Privileged Containers", Builtin: true},
	{ID: "BW-OFF", Title: "Disabled one", Severity: model.SeverityLow, DefaultMode: policy.ModeDisabled, Mode: policy.ModeDisabled, Sets: []string{"custom"}},
}

func testReport(cluster string) *Report {
	r := New("1.2.3", time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), testPolicies)
	r.Cluster = cluster
	priv := policy.Result{Kind: "Pod", APIVersion: "v1", Namespace: "team-a", Name: "debug", Violations: []policy.Violation{
		{PolicyID: "BW-PSS-PRIVILEGED", Title: "Privileged containers", Severity: model.SeverityHigh, Mode: policy.ModeEnforce,
			Message: "container shell is privileged", Path: "spec.containers[0].securityContext.privileged", Remediation: "Remove securityContext.privileged."},
		{PolicyID: "BW-K8S-IMAGE-TAG", Title: "Images pinned", Severity: model.SeverityMedium, Mode: policy.ModeAudit,
			Message: "container shell uses busybox:latest\twith a tab", Path: "spec.containers[0].image", Remediation: "Pin the image by digest."},
		{PolicyID: "BW-NOT-SELECTED", Severity: model.SeverityLow, Mode: policy.ModeEnforce, Message: "dropped: not a reported policy"},
	}, Skipped: map[string]string{"BW-K8S-VULNS": "no image scan results available", "BW-NOT-SELECTED": "dropped"}}
	ok := policy.Result{Kind: "Deployment", APIVersion: "apps/v1", Namespace: "shop", Name: "checkout", Violations: []policy.Violation{},
		Skipped: map[string]string{"BW-PSS-PRIVILEGED": "evaluation error: conflicting values"}}
	svc := policy.Result{Kind: "Service", APIVersion: "v1", Namespace: "shop", Name: "lb", Violations: []policy.Violation{}}
	excl := policy.Result{Kind: "DaemonSet", APIVersion: "apps/v1", Namespace: "kube-system", Name: "proxy", Violations: []policy.Violation{}, Excluded: "namespace kube-system is excluded"}
	srcs := []string{"deploy/pod.yaml:doc1", "deploy/app.yaml:doc1", "deploy/app.yaml:doc2", "deploy/sys.yaml:doc1"}
	c := cluster
	if c == "" {
		c = ManifestCluster
	}
	for i, res := range []policy.Result{priv, ok, svc, excl} {
		facts := map[string]string{}
		if cluster == "" {
			res.Source = srcs[i]
			facts["source"] = srcs[i]
		} else {
			facts["uid"] = "uid-" + res.Name
		}
		r.Add(res, Resource(c, res, facts))
	}
	r.LoadErrors = []string{"deploy/broken.yaml:doc2 (line 7): yaml: did not find expected key"}
	r.Sort()
	return r
}

func TestWriteGolden(t *testing.T) {
	for _, cluster := range []string{"", "prod"} {
		for _, format := range Formats() {
			name := format
			if cluster != "" {
				name = "cluster-" + format
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				if err := Write(&buf, testReport(cluster), format); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join("testdata", name+".golden"), format, buf.Bytes())
				if format != "table" && !json.Valid(buf.Bytes()) {
					t.Errorf("%s output is not JSON", format)
				}
			})
		}
	}
}

func TestReportModel(t *testing.T) {
	r := testReport("prod")
	if r.Summary != (Summary{Objects: 4, Excluded: 1, Unhealthy: 1, Violations: 2, Enforce: 1, Audit: 1}) {
		t.Errorf("summary = %+v", r.Summary)
	}
	byID := map[string]Result{}
	for _, res := range r.Results {
		byID[res.Resource.ID] = res
	}
	pod, ok := byID["prod/team-a/Pod/debug"]
	if !ok {
		t.Fatalf("no prod/team-a/Pod/debug among %v", byID)
	}
	if pod.Resource.Kind != model.KindWorkload || pod.Resource.Parent != "prod/team-a" || pod.Resource.Facts["uid"] != "uid-debug" || pod.Resource.Labels["kind"] != "Pod" {
		t.Errorf("pod resource = %+v", pod.Resource)
	}
	status := map[string]model.AssessmentStatus{}
	for _, a := range pod.Assessments {
		status[a.Rule] = a.Status
	}
	want := map[string]model.AssessmentStatus{"BW-K8S-IMAGE-TAG": model.AssessUnhealthy, "BW-K8S-VULNS": model.AssessNotApplicable, "BW-PSS-PRIVILEGED": model.AssessUnhealthy}
	if len(status) != len(want) {
		t.Errorf("assessments = %v, want %v (disabled policy left out)", status, want)
	}
	for k, v := range want {
		if status[k] != v {
			t.Errorf("assessment %s = %s, want %s", k, status[k], v)
		}
	}
	if len(pod.Violations) != 2 || pod.Skipped["BW-NOT-SELECTED"] != "" {
		t.Errorf("unreported policy kept: %+v %v", pod.Violations, pod.Skipped)
	}
	for _, a := range byID["prod/shop/Deployment/checkout"].Assessments {
		if want := map[string]model.AssessmentStatus{"BW-PSS-PRIVILEGED": model.AssessError}[a.Rule]; want != "" && a.Status != want {
			t.Errorf("deployment %s = %s, want %s", a.Rule, a.Status, want)
		}
	}
	if svc := byID["prod/shop/Service/lb"]; svc.Resource.Kind != "service" || len(svc.Assessments) != 3 || svc.Assessments[0].Status != model.AssessHealthy {
		t.Errorf("service = %+v", svc)
	}
	if ex := byID["prod/kube-system/DaemonSet/proxy"]; len(ex.Assessments) != 0 || ex.Excluded == "" {
		t.Errorf("excluded = %+v", ex)
	}
	if err := Write(&bytes.Buffer{}, r, "xml"); err == nil || !strings.Contains(err.Error(), "json, sarif, table") {
		t.Errorf("xml: err = %v", err)
	}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		spec    string
		want    string
		wantErr bool
	}{
		{spec: "", want: "BW-K8S-IMAGE-TAG,BW-K8S-VULNS,BW-PSS-PRIVILEGED,BW-OFF"},
		{spec: "all", want: "BW-K8S-IMAGE-TAG,BW-K8S-VULNS,BW-PSS-PRIVILEGED,BW-OFF"},
		{spec: "pss-baseline", want: "BW-PSS-PRIVILEGED"},
		{spec: " defender , BW-OFF", want: "BW-K8S-IMAGE-TAG,BW-K8S-VULNS,BW-OFF"},
		{spec: "NOPE", wantErr: true},
	}
	for _, tt := range tests {
		got, err := Select(tt.spec, testPolicies)
		if (err != nil) != tt.wantErr {
			t.Fatalf("Select(%q) err = %v", tt.spec, err)
		}
		var ids []string
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if !tt.wantErr && strings.Join(ids, ",") != tt.want {
			t.Errorf("Select(%q) = %v, want %s", tt.spec, ids, tt.want)
		}
	}
}

// checkGolden compares got with the golden file, rewriting it with -update.
func checkGolden(t *testing.T, golden, format string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update after checking):\n%s", format, golden, got)
	}
}
