package k8sbench

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Target is the part of a cluster a control is about, as kube-bench names
// them (plus "cluster" for Bulwark's own recommendations).
type Target string

const (
	TargetMaster       Target = "master"       // 1.x: control-plane node files and components
	TargetEtcd         Target = "etcd"         // 2.x
	TargetControlPlane Target = "controlplane" // 3.x
	TargetNode         Target = "node"         // 4.x: kubelet and kube-proxy
	TargetPolicies     Target = "policies"     // 5.x: from the API
	TargetCluster      Target = "cluster"      // BW-K8S-CLUSTER-*: from the API
)

// Targets lists every target in report order.
var Targets = []Target{TargetMaster, TargetEtcd, TargetControlPlane, TargetNode, TargetPolicies, TargetCluster}

// NodeSide is true for targets evaluated from a node's processes and files.
func (t Target) NodeSide() bool {
	return t == TargetMaster || t == TargetEtcd || t == TargetControlPlane || t == TargetNode
}

// Source names one part of the snapshot; a control lists those it reads.
type Source string

const (
	SourceProcesses Source = "processes" // /proc and static pod manifests
	SourceFiles     Source = "files"     // host files under the root
	SourceAPI       Source = "api"       // any API object
	SourceRBAC      Source = "rbac"
	SourcePods      Source = "pods"
	SourceNS        Source = "namespaces"
	SourceNetPol    Source = "networkpolicies"
	SourceServices  Source = "services"
	SourceVersion   Source = "version"
	SourceCVE       Source = "cve-feed"
)

// Result is what a check returns: a status in the shared vocabulary and
// precise evidence ("kube-apiserver (pid 812): --profiling=true").
type Result struct {
	Status   model.AssessmentStatus
	Evidence []string
}

// Control is one CIS check or cluster recommendation.
type Control struct {
	ID        string // "1.2.15" for CIS; "BW-K8S-CLUSTER-VERSION" for ours
	Title     string
	Section   string
	Target    Target
	Automated bool // the benchmark's designation (kube-bench "scored")
	Severity  model.Severity
	// Needs lists the sources the check reads: when one could not be
	// collected the runner reports not-assessed or error with the reason and
	// never calls Check.
	Needs       []Source
	Remediation string
	Check       func(s *Snapshot) Result
}

// Rule is the id in the shared result model.
func (c Control) Rule() string {
	if strings.HasPrefix(c.ID, "BW-") {
		return c.ID
	}
	return "CIS-K8S-" + c.ID
}

var (
	cisIDRE     = regexp.MustCompile(`^[1-5](\.[0-9]+){1,2}$`)
	clusterIDRE = regexp.MustCompile(`^BW-K8S-CLUSTER-[A-Z0-9-]+$`)
)

// validate checks the table once: a bad table is a programming error, found
// by TestRegistry before it ships.
func validate(cs []Control) error {
	seen := map[string]bool{}
	for _, c := range cs {
		switch {
		case !cisIDRE.MatchString(c.ID) && !clusterIDRE.MatchString(c.ID):
			return fmt.Errorf("control %q: bad id", c.ID)
		case seen[c.ID]:
			return fmt.Errorf("control %s: listed twice", c.ID)
		case c.Title == "" || c.Section == "" || c.Remediation == "":
			return fmt.Errorf("control %s: title, section and remediation are required", c.ID)
		case c.Check == nil:
			return fmt.Errorf("control %s: no check", c.ID)
		case !knownSeverity(c.Severity):
			return fmt.Errorf("control %s: severity %q", c.ID, c.Severity)
		case cisIDRE.MatchString(c.ID) && c.Target != targetOf(c.ID):
			return fmt.Errorf("control %s: target %s, want %s", c.ID, c.Target, targetOf(c.ID))
		}
		seen[c.ID] = true
	}
	return nil
}

func knownSeverity(s model.Severity) bool {
	switch s {
	case model.SeverityCritical, model.SeverityHigh, model.SeverityMedium, model.SeverityLow, model.SeverityInfo:
		return true
	}
	return false
}

// targetOf maps a CIS id to its kube-bench target by section.
func targetOf(id string) Target {
	switch id[0] {
	case '1':
		return TargetMaster
	case '2':
		return TargetEtcd
	case '3':
		return TargetControlPlane
	case '4':
		return TargetNode
	}
	return TargetPolicies
}

// lessID orders "1.1.10" after "1.1.9" and cluster ids after CIS ids.
func lessID(a, b string) bool {
	ca, cb := strings.HasPrefix(a, "BW-"), strings.HasPrefix(b, "BW-")
	if ca || cb {
		if ca && cb {
			return a < b
		}
		return cb
	}
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// Helpers for checks: results in one place so every check words them alike.
func healthy(ev ...string) Result   { return Result{Status: model.AssessHealthy, Evidence: ev} }
func unhealthy(ev ...string) Result { return Result{Status: model.AssessUnhealthy, Evidence: ev} }
func manual(ev ...string) Result    { return Result{Status: model.AssessManual, Evidence: ev} }
func notApplicable(ev ...string) Result {
	return Result{Status: model.AssessNotApplicable, Evidence: ev}
}
func notAssessed(ev ...string) Result { return Result{Status: model.AssessNotAssessed, Evidence: ev} }
