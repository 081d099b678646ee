package k8sbench

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Profile says who runs what. On a managed service the provider operates
// the control plane and etcd: those controls are not-applicable with the
// reason, never failed.
type Profile struct {
	Name      string // generic, eks, gke, aks
	Provider  string // "Amazon EKS"
	AuditHint string // where the provider's audit logs are turned on
}

// Managed is true for a provider-run control plane.
func (p Profile) Managed() bool { return p.Provider != "" }

// Profiles are the known profiles, by name.
var Profiles = map[string]Profile{
	"generic": {Name: "generic"},
	"eks":     {Name: "eks", Provider: "Amazon EKS", AuditHint: "EKS control plane logging, log type audit"},
	"gke":     {Name: "gke", Provider: "Google GKE", AuditHint: "Cloud Audit Logs for the cluster"},
	"aks":     {Name: "aks", Provider: "Azure AKS", AuditHint: "AKS diagnostic settings, category kube-audit"},
}

// providerOwned is true for controls a managed service keeps to itself.
func (p Profile) providerOwned(c Control) bool {
	return p.Managed() && (c.Target == TargetMaster || c.Target == TargetEtcd || c.Target == TargetControlPlane)
}

// Outcome is one control's result.
type Outcome struct {
	Control  Control
	Status   model.AssessmentStatus
	Severity model.Severity
	Evidence []string
}

// Result is the assessments of one resource (the cluster, or the node the
// node checks ran on).
type ResourceResult struct {
	Resource    model.Resource     `json:"resource"`
	Assessments []model.Assessment `json:"assessments"`
}

// Summary counts assessments by status.
type Summary struct {
	Healthy       int `json:"healthy"`
	Unhealthy     int `json:"unhealthy"`
	NotApplicable int `json:"not_applicable"`
	NotAssessed   int `json:"not_assessed"`
	Manual        int `json:"manual"`
	Error         int `json:"error"`
	Total         int `json:"total"`
}

// Report is the JSON document of `bench k8s` (docs/schema.md): the cluster
// as the resource, and the assessments per resource.
type Report struct {
	SchemaVersion string         `json:"schema_version"`
	Tool          model.Tool     `json:"tool"`
	GeneratedAt   time.Time      `json:"generated_at"`
	Benchmark     string         `json:"benchmark"`
	Profile       string         `json:"profile"`
	Targets       []Target       `json:"targets"`
	Resource      model.Resource `json:"resource"`
	// Results holds the cluster's assessments (policies and cluster
	// targets) and, with --node, the node's (master, etcd, controlplane,
	// node targets), each under its own resource.
	Results []ResourceResult `json:"results"`
	Summary Summary          `json:"summary"`
	// CollectionErrors names the sources that could not be read.
	CollectionErrors map[Source]string `json:"collection_errors,omitempty"`

	outcomes []Outcome
}

// Outcomes returns each control's outcome, in table order (for renderers).
func (r *Report) Outcomes() []Outcome { return r.outcomes }

// Options select what Run evaluates.
type Options struct {
	Targets []Target // empty: every target the snapshot has data for
	Checks  []string // ids or prefixes ("1.2", "5.1.3"); empty: all
	Exclude []string
	Version string // the tool's version, for the report
}

// Benchmark names what is assessed.
const Benchmark = "CIS Kubernetes Benchmark v1.12"

// Run evaluates the selected controls over one snapshot. It never fails:
// what could not be collected shows as not-assessed or error on the
// controls that need it.
func Run(s *Snapshot, o Options, now time.Time) *Report {
	now = now.UTC().Truncate(time.Second)
	targets := o.Targets
	if len(targets) == 0 {
		targets = DefaultTargets(s.Node != nil, s.Cluster != nil)
	}
	r := &Report{SchemaVersion: model.SchemaVersion, Tool: model.Tool{Name: "bulwark", Version: o.Version}, GeneratedAt: now,
		Benchmark: Benchmark, Profile: s.Profile.Name, Targets: targets, CollectionErrors: map[Source]string{}}
	for k, v := range s.Missing {
		r.CollectionErrors[k] = v
	}
	for k, v := range s.Failed {
		r.CollectionErrors[k] = v
	}
	r.Resource = clusterResource(s)
	node := nodeResource(s, r.Resource)
	var clusterAs, nodeAs []model.Assessment
	for _, c := range Controls() {
		if !slices.Contains(targets, c.Target) || !keep(c.ID, o.Checks, o.Exclude) {
			continue
		}
		out := evaluate(c, s)
		r.outcomes = append(r.outcomes, out)
		a := model.Assessment{Rule: c.Rule(), Title: c.Title, Status: out.Status, Severity: out.Severity,
			Evidence: out.Evidence, Remediation: c.Remediation, ObservedAt: now}
		if c.Target.NodeSide() {
			nodeAs = append(nodeAs, a)
		} else {
			clusterAs = append(clusterAs, a)
		}
		r.Summary.add(out.Status)
	}
	if clusterAs != nil || node == nil {
		r.Results = append(r.Results, ResourceResult{Resource: r.Resource, Assessments: orEmpty(clusterAs)})
	}
	if node != nil {
		r.Results = append(r.Results, ResourceResult{Resource: *node, Assessments: orEmpty(nodeAs)})
	}
	if len(r.CollectionErrors) == 0 {
		r.CollectionErrors = nil
	}
	return r
}

func orEmpty(a []model.Assessment) []model.Assessment {
	if a == nil {
		return []model.Assessment{}
	}
	return a
}

func (s *Summary) add(st model.AssessmentStatus) {
	s.Total++
	switch st {
	case model.AssessHealthy:
		s.Healthy++
	case model.AssessUnhealthy:
		s.Unhealthy++
	case model.AssessNotApplicable:
		s.NotApplicable++
	case model.AssessNotAssessed:
		s.NotAssessed++
	case model.AssessManual:
		s.Manual++
	default:
		s.Error++
	}
}

// DefaultTargets are the node targets when node facts were collected and
// the API targets when the API was read.
func DefaultTargets(node, api bool) []Target {
	var out []Target
	for _, t := range Targets {
		if (t.NodeSide() && node) || (!t.NodeSide() && api) {
			out = append(out, t)
		}
	}
	return out
}

// ParseTargets reads --targets ("master,node,policies").
func ParseTargets(list []string) ([]Target, error) {
	var out []Target
	for _, v := range list {
		t := Target(strings.TrimSpace(v))
		if !slices.Contains(Targets, t) {
			return nil, fmt.Errorf("unknown target %q (want %s)", v, joinTargets(Targets))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func joinTargets(ts []Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// ValidateSelection fails on an id or section in --checks or --exclude
// that names no control ("9.9", a typo): it must not give an empty report.
func ValidateSelection(checks, exclude []string) error {
	cs := Controls()
	for _, l := range []struct {
		flag string
		ids  []string
	}{{"--checks", checks}, {"--exclude", exclude}} {
		var unknown []string
		for _, p := range l.ids {
			if strings.TrimSpace(p) == "" {
				continue
			}
			found := false
			for _, c := range cs {
				if keep(c.ID, []string{p}, nil) {
					found = true
					break
				}
			}
			if !found {
				unknown = append(unknown, p)
			}
		}
		if len(unknown) > 0 {
			return fmt.Errorf("%s %s: no such check or section (CIS Kubernetes Benchmark v1.12 ids such as 1.2.1 or 5.1, or Bulwark's BW-K8S-CLUSTER-…)",
				l.flag, strings.Join(unknown, ","))
		}
	}
	return nil
}

func keep(id string, checks, exclude []string) bool {
	match := func(ps []string) bool {
		for _, p := range ps {
			p = strings.TrimPrefix(strings.TrimSpace(p), "CIS-K8S-")
			if p != "" && (id == p || strings.HasPrefix(id, p+".")) {
				return true
			}
		}
		return false
	}
	if len(checks) > 0 && !match(checks) {
		return false
	}
	return !match(exclude)
}

// evaluate runs one control: provider-owned controls are not applicable,
// missing data gives not-assessed, failed collection and a panicking check
// give error, so one bad check never stops the run.
func evaluate(c Control, s *Snapshot) (out Outcome) {
	out = Outcome{Control: c, Severity: c.Severity}
	set := func(r Result) {
		out.Status, out.Evidence = r.Status, r.Evidence
	}
	if s.Profile.providerOwned(c) {
		set(notApplicable(fmt.Sprintf("%s operates the control plane (profile %s): this control is the provider's responsibility", s.Profile.Provider, s.Profile.Name)))
		return out
	}
	switch {
	case c.Target.NodeSide() && s.Node == nil:
		set(notAssessed("node checks were not run: run `bulwark bench k8s --node` on the node"))
		return out
	case !c.Target.NodeSide() && s.Cluster == nil:
		set(notAssessed("no API access: give --kubeconfig (or run in a pod with a service account)"))
		return out
	}
	for _, src := range c.Needs {
		if msg, bad := s.Failed[src]; bad {
			set(Result{Status: model.AssessError, Evidence: []string{"could not collect " + string(src) + ": " + msg}})
			return out
		}
		if msg, bad := s.Missing[src]; bad {
			set(notAssessed("could not collect " + string(src) + ": " + msg))
			return out
		}
	}
	defer func() {
		if p := recover(); p != nil {
			out.Status, out.Evidence = model.AssessError, []string{fmt.Sprintf("check %s failed: %v", c.ID, p)}
		}
	}()
	set(c.Check(s))
	if out.Status == "" {
		out.Status, out.Evidence = model.AssessError, append(out.Evidence, "check returned no status")
	}
	if c.ID == "BW-K8S-CLUSTER-VERSION" && out.Status == model.AssessUnhealthy {
		out.Severity = versionSeverity(s.Cluster)
	}
	if out.Status == model.AssessManual {
		out.Severity = model.SeverityInfo
	}
	return out
}

// clusterResource is the cluster: kind cluster, id the kube-system
// namespace uid (as the server identifies clusters), name from
// --cluster-name or the kubeconfig context's cluster.
func clusterResource(s *Snapshot) model.Resource {
	r := model.Resource{Kind: KindCluster, Labels: map[string]string{}, Facts: map[string]string{"profile": s.Profile.Name}}
	if c := s.Cluster; c != nil {
		r.ID, r.Name = c.UID, c.Name
		r.Labels["cluster"] = c.Name
		if c.Context != "" {
			r.Labels["context"] = c.Context
		}
		if c.Version != "" {
			r.Facts["version"] = c.Version
		}
		r.Facts["namespaces"] = fmt.Sprint(len(c.Namespaces))
		r.Facts["pods"] = fmt.Sprint(len(c.Pods))
		r.Facts["nodes"] = fmt.Sprint(len(c.Nodes))
	} else {
		r.Name = "unknown"
		if s.Node != nil {
			r.Facts["note"] = "node checks only: the cluster's id (kube-system uid) needs API access"
		}
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	return r
}

// nodeResource is the node the node checks ran on, a child of the cluster.
func nodeResource(s *Snapshot, cluster model.Resource) *model.Resource {
	n := s.Node
	if n == nil {
		return nil
	}
	r := model.Resource{Kind: KindNode, Name: n.Name, ID: n.Name, Parent: cluster.ID, Facts: map[string]string{"layout": n.Layout}}
	if cluster.ID != "" {
		r.ID = cluster.ID + "/" + n.Name
	}
	var comps []string
	for _, c := range []Component{APIServer, ControllerManager, Scheduler, Etcd, Kubelet, Proxy} {
		if p := n.Procs[c]; p != nil {
			comps = append(comps, string(c)+" ("+p.Origin+")")
		}
	}
	if len(comps) > 0 {
		r.Facts["components"] = strings.Join(comps, "; ")
	}
	return &r
}

// Resource kinds of this package's reports.
const (
	KindCluster model.ResourceKind = "cluster"
	KindNode    model.ResourceKind = "node"
)
