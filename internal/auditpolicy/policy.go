// Package auditpolicy reads, evaluates and writes Kubernetes audit
// policies (audit.k8s.io/v1 Policy): evaluated, it tells at which level the
// API server records a request, so run-time detection can say which rules a
// cluster's policy blinds; written, it is the policy that gives every rule
// what it reads at the least cost.
package auditpolicy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Policy is an audit.k8s.io/v1 Policy.
type Policy struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   any      `yaml:"metadata,omitempty"`
	OmitStages []string `yaml:"omitStages,omitempty"`
	Rules      []Rule   `yaml:"rules"`
	// OmitManagedFields is accepted and ignored here: it changes bodies,
	// not levels.
	OmitManagedFields *bool `yaml:"omitManagedFields,omitempty"`
}

// Rule is one policy rule; the first that matches a request sets its level.
type Rule struct {
	Level             runtime.AuditLevel `yaml:"level"`
	Users             []string           `yaml:"users,omitempty"`
	UserGroups        []string           `yaml:"userGroups,omitempty"`
	Verbs             []string           `yaml:"verbs,omitempty"`
	Resources         []GroupResources   `yaml:"resources,omitempty"`
	Namespaces        []string           `yaml:"namespaces,omitempty"`
	NonResourceURLs   []string           `yaml:"nonResourceURLs,omitempty"`
	OmitStages        []string           `yaml:"omitStages,omitempty"`
	OmitManagedFields *bool              `yaml:"omitManagedFields,omitempty"`
}

// GroupResources selects resources of one API group ("" is core).
type GroupResources struct {
	Group         string   `yaml:"group"`
	Resources     []string `yaml:"resources,omitempty"`
	ResourceNames []string `yaml:"resourceNames,omitempty"`
}

// maxPolicy bounds what Parse reads: real policies are a few KiB.
const maxPolicy = 1 << 20

// Parse reads a policy strictly: unknown fields and bad levels are errors.
func Parse(r io.Reader) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxPolicy+1))
	if err != nil {
		return nil, fmt.Errorf("read audit policy: %w", err)
	}
	if len(data) > maxPolicy {
		return nil, fmt.Errorf("audit policy larger than %d bytes", maxPolicy)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("audit policy: empty document")
		}
		return nil, fmt.Errorf("audit policy: %w", err)
	}
	if p.Kind != "Policy" || !strings.HasPrefix(p.APIVersion, "audit.k8s.io/") {
		return nil, fmt.Errorf("audit policy: kind %q apiVersion %q, want Policy of audit.k8s.io/v1", p.Kind, p.APIVersion)
	}
	for i, r := range p.Rules {
		if _, err := runtime.ParseAuditLevel(string(r.Level)); err != nil {
			return nil, fmt.Errorf("audit policy rule %d: %w", i+1, err)
		}
		if len(r.NonResourceURLs) > 0 && (len(r.Resources) > 0 || len(r.Namespaces) > 0) {
			return nil, fmt.Errorf("audit policy rule %d: nonResourceURLs cannot be combined with resources or namespaces", i+1)
		}
	}
	return &p, nil
}

// Request is what a policy is evaluated for.
type Request struct {
	User        string
	Groups      []string
	Verb        string
	Group       string // API group, "" core
	Resource    string
	Subresource string
	Namespace   string
	Name        string
}

// Evaluate returns the level of the first rule matching q (None when none
// does), as the API server's policy checker does for resource requests.
func (p *Policy) Evaluate(q Request) runtime.AuditLevel {
	l, _ := p.evaluate(q)
	return l
}

// evaluate also says whether the ResponseComplete stage, the one detection
// reads, is omitted for q (by the policy or by its matching rule).
func (p *Policy) evaluate(q Request) (runtime.AuditLevel, bool) {
	omitted := slices.Contains(p.OmitStages, "ResponseComplete")
	for _, r := range p.Rules {
		if r.matches(q) {
			return r.Level, omitted || slices.Contains(r.OmitStages, "ResponseComplete")
		}
	}
	return runtime.AuditNone, omitted
}

func (r Rule) matches(q Request) bool {
	if len(r.Users) > 0 && !slices.Contains(r.Users, q.User) {
		return false
	}
	if len(r.UserGroups) > 0 && !slices.ContainsFunc(r.UserGroups, func(g string) bool { return slices.Contains(q.Groups, g) }) {
		return false
	}
	if len(r.Verbs) > 0 && !slices.Contains(r.Verbs, q.Verb) && !slices.Contains(r.Verbs, "*") {
		return false
	}
	if len(r.NonResourceURLs) > 0 {
		return false // resource requests only
	}
	if len(r.Namespaces) > 0 && !slices.Contains(r.Namespaces, q.Namespace) {
		// "" in the list selects cluster-scoped requests, as upstream.
		return false
	}
	if len(r.Resources) == 0 {
		return true
	}
	for _, gr := range r.Resources {
		if gr.Group != q.Group && gr.Group != "*" {
			continue
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, q.Name) {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		for _, pat := range gr.Resources {
			if resourceMatches(pat, q.Resource, q.Subresource) {
				return true
			}
		}
	}
	return false
}

// resourceMatches follows the API server's policy checker: "pods"
// matches pods only (not pods/log), "pods/log" one subresource, "pods/*"
// pods and every subresource of it, "*/scale" scale of any resource, "*"
// everything.
func resourceMatches(pat, resource, sub string) bool {
	full := resource
	if sub != "" {
		full = resource + "/" + sub
	}
	switch {
	case pat == "*" || pat == full:
		return true
	case sub != "" && strings.HasPrefix(pat, "*/") && strings.TrimPrefix(pat, "*/") == sub:
		return true
	case strings.HasSuffix(pat, "/*") && strings.TrimSuffix(pat, "/*") == resource:
		return true
	}
	return false
}

// Levels adapts a policy to the question run-time detection asks: at
// which level is a request of an ordinary (non-system) user recorded.
// A verb or resource of "*" asks about every verb the policy names.
type Levels struct {
	Policy *Policy
	// User and Groups stand for the requests rules look at; default an
	// authenticated user outside system groups, in namespace "default".
	User      string
	Groups    []string
	Namespace string
}

// Level implements blindspot.AuditLevels: the lowest level among the
// requests the question covers, so "partly recorded" reads as short.
func (l Levels) Level(verb, group, resource, subresource string) runtime.AuditLevel {
	user, groups, ns := l.User, l.Groups, l.Namespace
	if user == "" {
		user, groups = "bulwark:any-user", []string{"system:authenticated"}
	}
	if ns == "" {
		ns = "default"
	}
	verbs := []string{verb}
	if verb == "*" {
		verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	}
	if resource == "*" {
		resource = "pods" // a representative resource: policies rarely single "*" out
	}
	if group == "*" {
		group = ""
	}
	lowest := runtime.AuditRequestResponse
	for _, v := range verbs {
		lv, noResponse := l.Policy.evaluate(Request{User: user, Groups: groups, Verb: v, Group: group, Resource: resource, Subresource: subresource, Namespace: ns})
		if noResponse {
			// Sources read completed requests only: without that stage the
			// request is not seen at all.
			lv = runtime.AuditNone
		}
		if lv.Rank() < lowest.Rank() {
			lowest = lv
		}
	}
	return lowest
}
