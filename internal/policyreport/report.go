package policyreport

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
	"github.com/bulwarkdev/bulwark/internal/policy"
)

// SchemaVersion is the version of the JSON shape documented in docs/schema.md.
const SchemaVersion = "1"

// Report is the outcome of evaluating a set of Kubernetes objects.
type Report struct {
	SchemaVersion string    `json:"schema_version"`
	Tool          string    `json:"tool"`
	Version       string    `json:"version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Cluster       string    `json:"cluster,omitempty"` // audit k8s only: the cluster's name
	// ClusterID is the cluster's identity (audit k8s): the UID of its
	// kube-system namespace, which names the cluster in every resource id.
	ClusterID string `json:"cluster_id,omitempty"`
	// PSSVersion is the Pod Security Standards version the PSS policies
	// were evaluated at where no namespace label said otherwise, "latest"
	// resolved (v1.37).
	PSSVersion string          `json:"pss_version,omitempty"`
	Policies   []policy.Policy `json:"policies"`
	Results    []Result        `json:"results"`
	Summary    Summary         `json:"summary"`
	// LoadErrors are manifests (scan k8s) or kinds (audit k8s) that could
	// not be read; the rest was still evaluated.
	LoadErrors []string `json:"load_errors,omitempty"`
	// Complete says the report holds every object of the cluster (the
	// cluster agent's): the server removes the cluster's objects it does
	// not hold.
	Complete bool `json:"complete,omitempty"`

	reported map[string]bool
}

// Result is one evaluated object: the engine's result (fields inlined in
// JSON) plus the resource and its assessments.
type Result struct {
	policy.Result
	Resource    model.Resource     `json:"resource"`
	Assessments []model.Assessment `json:"assessments"`
}

// Summary counts objects and violations.
type Summary struct {
	Objects    int `json:"objects"`
	Excluded   int `json:"excluded"`
	Unhealthy  int `json:"unhealthy"` // objects with at least one violation
	Violations int `json:"violations"`
	Enforce    int `json:"enforce"`
	Audit      int `json:"audit"`
}

// New starts a report over the given policies (those to report: a
// violation of any other policy is dropped by Add). Disabled policies are
// listed but produce no assessments.
func New(version string, generatedAt time.Time, policies []policy.Policy) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion, Tool: "bulwark", Version: version,
		GeneratedAt: generatedAt.UTC(), Policies: slices.Clone(policies), Results: []Result{},
		reported: map[string]bool{},
	}
	if r.Policies == nil {
		r.Policies = []policy.Policy{}
	}
	for _, p := range policies {
		r.reported[p.ID] = true
	}
	return r
}

// Add records one object's result, keeping only the reported policies'
// violations and skips, and derives its assessments.
func (r *Report) Add(res policy.Result, rsc model.Resource) {
	vs := make([]policy.Violation, 0, len(res.Violations))
	for _, v := range res.Violations {
		if r.reported[v.PolicyID] {
			vs = append(vs, v)
		}
	}
	res.Violations = vs
	for id := range res.Skipped {
		if !r.reported[id] {
			delete(res.Skipped, id)
		}
	}
	if len(res.Skipped) == 0 {
		res.Skipped = nil
	}
	r.Results = append(r.Results, Result{Result: res, Resource: rsc, Assessments: r.assess(res)})
	r.Summary.Objects++
	if res.Excluded != "" {
		r.Summary.Excluded++
	}
	if len(vs) > 0 {
		r.Summary.Unhealthy++
	}
	for _, v := range vs {
		r.Summary.Violations++
		if v.Mode == policy.ModeAudit {
			r.Summary.Audit++
		} else {
			r.Summary.Enforce++
		}
	}
}

// assess turns a result into one assessment per reported, enabled policy:
// unhealthy with the violations as evidence, not-applicable or error when
// it was skipped (with why), healthy otherwise. An excluded object has none.
func (r *Report) assess(res policy.Result) []model.Assessment {
	out := []model.Assessment{}
	if res.Excluded != "" {
		return out
	}
	byPolicy := map[string][]string{}
	for _, v := range res.Violations {
		ev := v.Message
		if v.Path != "" {
			ev = v.Path + ": " + v.Message
		}
		byPolicy[v.PolicyID] = append(byPolicy[v.PolicyID], ev)
	}
	for _, p := range r.Policies {
		if p.Mode == policy.ModeDisabled {
			continue
		}
		a := model.Assessment{Rule: p.ID, Title: p.Title, Status: model.AssessHealthy, Severity: p.Severity, ObservedAt: r.GeneratedAt}
		if ev, bad := byPolicy[p.ID]; bad {
			a.Status, a.Evidence, a.Remediation = model.AssessUnhealthy, ev, p.Remediation
		} else if why, skipped := res.Skipped[p.ID]; skipped {
			a.Status, a.Evidence = skippedStatus(why), []string{why}
		}
		out = append(out, a)
	}
	return out
}

// skippedStatus: a policy that failed to run is an error; one that could
// not apply (a parameter not configured, no scan results) is not applicable.
func skippedStatus(why string) model.AssessmentStatus {
	if strings.HasPrefix(why, "evaluation error") {
		return model.AssessError
	}
	return model.AssessNotApplicable
}

// Sort orders results by resource id, then source (stable output for a
// cluster listed in any order).
func (r *Report) Sort() {
	sort.SliceStable(r.Results, func(i, j int) bool {
		a, b := r.Results[i], r.Results[j]
		if a.Resource.ID != b.Resource.ID {
			return a.Resource.ID < b.Resource.ID
		}
		return a.Source < b.Source
	})
}

// workloadKinds carry a pod template; their resource kind is "workload".
var workloadKinds = map[string]bool{
	"Pod": true, "Deployment": true, "ReplicaSet": true, "StatefulSet": true, "DaemonSet": true,
	"Job": true, "CronJob": true, "ReplicationController": true, "PodTemplate": true,
}

// ManifestCluster stands for the cluster part of a resource id when the
// object comes from a manifest, not from a cluster.
const ManifestCluster = "manifests"

// Resource is the model.Resource of an evaluated object: id
// cluster/namespace/kind/name (namespace "-" for cluster-scoped objects),
// parent cluster/namespace, the Kubernetes kind in Labels["kind"], and the
// given facts (uid, source…).
func Resource(cluster string, res policy.Result, facts map[string]string) model.Resource {
	ns := res.Namespace
	if ns == "" {
		ns = "-"
	}
	kind := model.KindWorkload
	if !workloadKinds[res.Kind] {
		kind = model.ResourceKind(strings.ToLower(res.Kind))
	}
	rsc := model.Resource{
		Kind:   kind,
		ID:     model.KubeObjectID(cluster, res.Namespace, res.Kind, res.Name),
		Name:   res.Name,
		Parent: cluster + "/" + ns,
		Labels: map[string]string{"kind": res.Kind},
	}
	if res.APIVersion != "" {
		rsc.Labels["api_version"] = res.APIVersion
	}
	for k, v := range facts {
		if v == "" {
			continue
		}
		if rsc.Facts == nil {
			rsc.Facts = map[string]string{}
		}
		rsc.Facts[k] = v
	}
	return rsc
}

// Select resolves a --policies value (sets and ids, comma-separated; empty
// means all) to the policies to report, in the engine's order.
func Select(spec string, pols []policy.Policy) ([]policy.Policy, error) {
	ids := map[string]bool{}
	for _, p := range pols {
		ids[p.ID] = true
	}
	want := map[string]bool{}
	var items []string
	for _, it := range strings.Split(spec, ",") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		items = []string{"all"}
	}
	for _, it := range items {
		switch {
		case it == "all":
			for id := range ids {
				want[id] = true
			}
		case slices.Contains(policy.KnownSets(), it):
			for _, p := range pols {
				if slices.Contains(p.Sets, it) {
					want[p.ID] = true
				}
			}
		case ids[it]:
			want[it] = true
		default:
			return nil, fmt.Errorf("--policies: %q is neither a set (all, %s) nor a loaded policy id", it, strings.Join(policy.KnownSets(), ", "))
		}
	}
	var out []policy.Policy
	for _, p := range pols {
		if want[p.ID] {
			out = append(out, p)
		}
	}
	return out, nil
}
