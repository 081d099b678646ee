package recommend

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Scope says what an exemption covers.
type Scope string

const (
	ScopeResource   Scope = "resource"   // one resource id (an image digest, a host, a workload)
	ScopeRepository Scope = "repository" // every image seen under a repository (registry/path)
	ScopeNamespace  Scope = "namespace"  // CLUSTER_ID/NAMESPACE: its Kubernetes objects, and images running only there
	ScopeCluster    Scope = "cluster"    // CLUSTER_ID: its objects and nodes, and images running only there
	ScopeAll        Scope = "all"        // everywhere
)

// Exemption takes an unhealthy result out of the score and the
// recommendation's unhealthy list without hiding it: the exempt result
// keeps its underlying verdict and comes back when the exemption ends.
// Exactly one of Recommendation and Vulnerability is set.
type Exemption struct {
	ID             string    `json:"id"`
	Recommendation string    `json:"recommendation,omitempty"`
	Vulnerability  string    `json:"vulnerability,omitempty"`
	Scope          Scope     `json:"scope"`
	Value          string    `json:"value,omitempty"`
	Reason         string    `json:"reason"`
	Justification  string    `json:"justification,omitempty"` // OpenVEX justification
	Author         string    `json:"author"`
	Source         string    `json:"source"` // api, openvex
	CreatedAt      time.Time `json:"created_at"`
	Expires        time.Time `json:"expires,omitzero"`
	// UntilFix: the exemption of a vulnerability lasts while no fixed
	// version exists; a finding with a fix is no longer covered.
	UntilFix  bool      `json:"until_fix,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Validate checks an exemption as a person or a VEX document gives it.
func (e Exemption) Validate(c *Catalog) error {
	switch {
	case (e.Recommendation == "") == (e.Vulnerability == ""):
		return fmt.Errorf("an exemption names either a recommendation or a vulnerability")
	case strings.TrimSpace(e.Reason) == "":
		return fmt.Errorf("an exemption needs a reason")
	case len(e.Reason) > 2000:
		return fmt.Errorf("reason: at most 2000 characters")
	case len(e.Vulnerability) > 200 || len(e.Value) > 1000:
		return fmt.Errorf("vulnerability or scope value too long")
	case e.UntilFix && e.Vulnerability == "":
		return fmt.Errorf("until_fix applies to a vulnerability exemption")
	}
	if e.Recommendation != "" && c != nil {
		if _, ok := c.Recommendation(e.Recommendation); !ok {
			return fmt.Errorf("unknown recommendation %q", e.Recommendation)
		}
	}
	switch e.Scope {
	case ScopeAll:
		if e.Value != "" {
			return fmt.Errorf("scope all takes no value")
		}
	case ScopeResource, ScopeRepository, ScopeCluster:
		if e.Value == "" {
			return fmt.Errorf("scope %s needs a value", e.Scope)
		}
	case ScopeNamespace:
		if c, ns, ok := strings.Cut(e.Value, "/"); !ok || c == "" || ns == "" || strings.Contains(ns, "/") {
			return fmt.Errorf("scope namespace takes CLUSTER_ID/NAMESPACE, not %q", e.Value)
		}
	default:
		return fmt.Errorf("scope must be resource, repository, namespace, cluster or all, not %q", e.Scope)
	}
	return nil
}

// Active reports whether the exemption applies at now.
func (e Exemption) Active(now time.Time) bool {
	if !e.RevokedAt.IsZero() && !now.Before(e.RevokedAt) {
		return false
	}
	return e.Expires.IsZero() || now.Before(e.Expires)
}

// Subject is what an exemption's scope is compared with: a resource and
// where it lives.
type Subject struct {
	ResourceID string
	// Repositories an image was seen under.
	Repositories []string
	// Clusters and Namespaces (CLUSTER_ID/NAMESPACE) the resource is in; for
	// an image, where it runs.
	Clusters   []string
	Namespaces []string
}

// KubeSubject derives the cluster and namespace of a Kubernetes object id
// (cluster/namespace/Kind/name) or of a node (parent = cluster).
func KubeSubject(id, kind, parent string) Subject {
	s := Subject{ResourceID: id}
	parts := strings.SplitN(id, "/", 4)
	switch {
	case len(parts) == 4:
		s.Clusters = []string{parts[0]}
		if parts[1] != "-" {
			s.Namespaces = []string{parts[0] + "/" + parts[1]}
		}
	case kind == "node" && parent != "":
		s.Clusters = []string{parent}
	case kind == "cluster":
		s.Clusters = []string{id}
	}
	return s
}

// Covers reports whether the exemption's scope includes the subject. An
// image is covered by a cluster or namespace scope only when every place it
// runs is inside it: exempting a CVE for one team must not hide it from
// another.
func (e Exemption) Covers(s Subject) bool {
	switch e.Scope {
	case ScopeAll:
		return true
	case ScopeResource:
		return s.ResourceID == e.Value
	case ScopeRepository:
		for _, r := range s.Repositories {
			if r == e.Value {
				return true
			}
		}
	case ScopeCluster:
		return allIn(s.Clusters, func(c string) bool { return c == e.Value })
	case ScopeNamespace:
		return allIn(s.Namespaces, func(n string) bool { return n == e.Value })
	}
	return false
}

func allIn(xs []string, ok func(string) bool) bool {
	if len(xs) == 0 {
		return false
	}
	for _, x := range xs {
		if !ok(x) {
			return false
		}
	}
	return true
}

// ApplyToFindings marks the findings an active vulnerability exemption
// covers (by id or alias, in scope; "until a fix exists" only while the
// finding has no fixed version) exempt, keeping what they were underneath
// in the suppression. Findings already suppressed are left alone. It
// returns a new slice.
func ApplyToFindings(fs []model.Finding, s Subject, exs []Exemption, now time.Time) []model.Finding {
	out := slices.Clone(fs)
	for i := range out {
		f := &out[i]
		if f.Status == model.StatusExempt || f.Status == model.StatusNotAffected {
			continue
		}
		for _, e := range exs {
			if e.Vulnerability == "" || !e.Active(now) || (e.Vulnerability != f.ID && !slices.Contains(f.Aliases, e.Vulnerability)) {
				continue
			}
			if e.UntilFix && f.FixedVersion != "" {
				continue
			}
			if !e.Covers(s) {
				continue
			}
			sup := &model.Suppression{Kind: "exemption", Reason: e.Reason, Justification: e.Justification, Source: "exemption " + e.ID + " by " + e.Author}
			if !e.Expires.IsZero() {
				sup.Expires = e.Expires.UTC().Format(time.RFC3339)
			}
			if e.UntilFix {
				sup.Expires = "until a fix exists"
			}
			f.Status, f.Suppression = model.StatusExempt, sup
			break
		}
	}
	return out
}
