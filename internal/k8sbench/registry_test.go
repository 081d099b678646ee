package k8sbench

import (
	"strings"
	"testing"
)

// TestRegistry guards the table: valid entries, every CIS v1.12 check once
// (131, 65 of them Automated as kube-bench's cis-1.12 scores them), and
// the cluster recommendations.
func TestRegistry(t *testing.T) {
	cs := Controls()
	if err := validate(cs); err != nil {
		t.Fatal(err)
	}
	cis, automated, cluster := 0, 0, 0
	perTarget := map[Target]int{}
	for _, c := range cs {
		perTarget[c.Target]++
		if strings.HasPrefix(c.ID, "BW-") {
			cluster++
			continue
		}
		cis++
		if c.Automated {
			automated++
		}
	}
	if cis != 131 || automated != 65 {
		t.Errorf("CIS checks = %d (%d automated), want 131 (65)", cis, automated)
	}
	if cluster != 5 {
		t.Errorf("cluster recommendations = %d, want 5", cluster)
	}
	want := map[Target]int{TargetMaster: 60, TargetEtcd: 7, TargetControlPlane: 5, TargetNode: 25, TargetPolicies: 34, TargetCluster: 5}
	for tg, n := range want {
		if perTarget[tg] != n {
			t.Errorf("target %s: %d controls, want %d", tg, perTarget[tg], n)
		}
	}
	for i := 1; i < len(cs); i++ {
		if !lessID(cs[i-1].ID, cs[i].ID) {
			t.Errorf("not sorted: %s before %s", cs[i-1].ID, cs[i].ID)
		}
	}
	if got := cs[0].Rule(); got != "CIS-K8S-1.1.1" {
		t.Errorf("first rule %s", got)
	}
}

func TestValidateRejects(t *testing.T) {
	ok := Control{ID: "1.2.1", Title: "t", Section: "s", Target: TargetMaster, Severity: "high", Remediation: "r", Check: func(*Snapshot) Result { return healthy() }}
	for name, edit := range map[string]func(*Control){
		"bad id":         func(c *Control) { c.ID = "x" },
		"no title":       func(c *Control) { c.Title = "" },
		"no check":       func(c *Control) { c.Check = nil },
		"bad severity":   func(c *Control) { c.Severity = "urgent" },
		"wrong target":   func(c *Control) { c.Target = TargetNode },
		"no section":     func(c *Control) { c.Section = "" },
		"no remediation": func(c *Control) { c.Remediation = "" },
	} {
		c := ok
		edit(&c)
		if err := validate([]Control{c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := validate([]Control{ok, ok}); err == nil {
		t.Error("duplicate accepted")
	}
}
