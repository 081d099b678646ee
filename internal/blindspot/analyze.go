package blindspot

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/event"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// AuditLevels says at which level the API server records a request: an
// audit policy (internal/auditpolicy) or one level for everything.
type AuditLevels interface {
	Level(verb, group, resource, subresource string) runtime.AuditLevel
}

// FixedLevel records every request at one level.
type FixedLevel runtime.AuditLevel

func (l FixedLevel) Level(string, string, string, string) runtime.AuditLevel {
	return runtime.AuditLevel(l)
}

// Profile is what a watch or replay is given: its sources and, for the
// Kubernetes audit source, the levels its events are recorded at (nil:
// unknown, taken as enough).
type Profile struct {
	Feeds []Feed
	Audit AuditLevels
}

// Coverage is what a profile lets one rule do.
type Coverage struct {
	Rule    string   `json:"rule"`
	Title   string   `json:"title,omitempty"`
	Grade   Grade    `json:"grade"`
	Reasons []string `json:"reasons,omitempty"`
}

// Analyze grades every enabled rule against the profile, sorted by rule id.
// A rule fires on any of its kinds from any of its sources, so it is as
// good as the best supply it has; audit rules are then held to the levels
// their resources and verbs are recorded at.
func Analyze(rules []*runtime.Rule, p Profile) []Coverage {
	var out []Coverage
	for _, r := range rules {
		if !r.IsEnabled() {
			continue
		}
		out = append(out, analyzeRule(r, p))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

func analyzeRule(r *runtime.Rule, p Profile) Coverage {
	c := Coverage{Rule: r.ID, Title: r.Title, Grade: Blind}
	kinds := r.Kinds
	if len(kinds) == 0 { // any kind its sources give
		for _, s := range r.Sources {
			for k := range supplies[s] {
				if !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
		}
		slices.Sort(kinds)
	}
	best := Supply{Grade: Blind}
	var missing []string
	for _, k := range kinds {
		s, from := supplyOf(r, p, k)
		if s.Grade.rank() > best.Grade.rank() {
			best = s
		}
		switch {
		case from == "" && k == event.KindFalco && len(kinds) > 1:
			// Falco's output is an alternative input, not a gap.
		case from == "":
			missing = append(missing, fmt.Sprintf("no source given supplies %s events (%s would)", k, strings.Join(suppliers(r, k), ", ")))
		case s.Grade != Full:
			missing = append(missing, fmt.Sprintf("%s events from %s: %s", k, from, s.Why))
		}
	}
	c.Grade = best.Grade
	if c.Grade != Full {
		c.Reasons = missing
		return c
	}
	if slices.Contains(kinds, event.KindK8sAudit) && p.Audit != nil {
		grade, reasons := auditGrade(r, p.Audit)
		if grade.rank() < c.Grade.rank() {
			c.Grade = grade
		}
		c.Reasons = append(c.Reasons, reasons...)
	}
	return c
}

// supplyOf is the best supply of kind k among the profile's feeds that
// the rule reads from, and that feed's source.
func supplyOf(r *runtime.Rule, p Profile, k event.Kind) (Supply, event.Source) {
	best, from := Supply{Grade: Blind}, event.Source("")
	for _, f := range p.Feeds {
		if len(r.Sources) > 0 && !slices.Contains(r.Sources, f.Source) {
			continue
		}
		s, ok := f.Kinds[k]
		if !ok {
			continue
		}
		if from == "" || s.Grade.rank() > best.Grade.rank() {
			best, from = s, f.Source
		}
	}
	return best, from
}

// suppliers names the rule's sources that could supply kind k.
func suppliers(r *runtime.Rule, k event.Kind) []string {
	var out []string
	for _, s := range r.Sources {
		if _, ok := supplies[s][k]; ok {
			out = append(out, string(s))
		}
	}
	if len(out) == 0 {
		return []string{"none of its sources"}
	}
	return out
}

// auditGrade holds an audit rule to the levels its requests are recorded
// at: blind when none of its (verb, resource) pairs reaches what it reads,
// partial when some do not.
func auditGrade(r *runtime.Rule, levels AuditLevels) (Grade, []string) {
	n := r.Requirements()
	pairs := RequestsOf(r)
	// Short requests grouped by the level they get and their verbs, so a
	// reason reads "create/update/patch of pods, deployments.apps …
	// recorded at Metadata" rather than one line per pair.
	type group struct {
		level   runtime.AuditLevel
		details bool // fires, but its output is short
		verbs   []string
		res     []string
	}
	var groups []*group
	byRes := map[string]*group{}
	blind, short := 0, 0
	for _, q := range pairs {
		got := levels.Level(q.Verb, q.Group, q.Resource, q.Subresource)
		if got.Rank() >= n.Details.Rank() {
			continue
		}
		short++
		details := got.Rank() >= n.Audit.Rank()
		if !details {
			blind++
		}
		res := Request{Group: q.Group, Resource: q.Resource, Subresource: q.Subresource}.resource()
		key := fmt.Sprint(got, details, res)
		g := byRes[key]
		if g == nil {
			g = &group{level: got, details: details, res: []string{res}}
			byRes[key] = g
			groups = append(groups, g)
		}
		g.verbs = append(g.verbs, q.Verb)
	}
	if short == 0 {
		return Full, nil
	}
	merged := map[string]*group{}
	var order []string
	for _, g := range groups {
		k := fmt.Sprint(g.level, g.details, strings.Join(g.verbs, "/"))
		if m, ok := merged[k]; ok {
			m.res = append(m.res, g.res...)
			continue
		}
		merged[k] = g
		order = append(order, k)
	}
	var reasons []string
	for _, k := range order {
		g := merged[k]
		what := fmt.Sprintf("%s of %s recorded at %s", strings.Join(g.verbs, "/"), strings.Join(g.res, ", "), g.level)
		if g.details {
			reasons = append(reasons, what+fmt.Sprintf("; the rule fires, but its alert lacks what it reads from the body (needs %s)", n.Details))
		} else {
			reasons = append(reasons, what+fmt.Sprintf("; the rule reads the request body (needs %s)", n.Audit))
		}
	}
	if blind == len(pairs) {
		return Blind, reasons
	}
	return Partial, reasons
}

// Request is one kind of API request an audit rule watches.
type Request struct {
	Verb, Group, Resource, Subresource string
}

func (q Request) String() string { return q.Verb + " " + q.resource() }

// resource is "pods", "pods/exec" or "deployments.apps".
func (q Request) resource() string {
	res := q.Resource
	if q.Subresource != "" {
		res += "/" + q.Subresource
	}
	if q.Group != "" {
		res += "." + q.Group
	}
	return res
}

// RequestsOf lists the requests an audit rule watches, from its
// match.actions, match.resources and match.subresources ("*" where it sets
// none), each resource in its API group.
func RequestsOf(r *runtime.Rule) []Request {
	verbs := r.Match.Actions
	if len(verbs) == 0 {
		verbs = []string{"*"}
	}
	resources := r.Match.Resources
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	subs := r.Match.Subresources
	if len(subs) == 0 {
		subs = []string{""}
	}
	var out []Request
	for _, res := range resources {
		for _, g := range GroupsOf(res) {
			for _, sub := range subs {
				if known, ok := subresources[res]; ok && sub != "" && !slices.Contains(known, sub) {
					continue // a rule listing pod subresources for workloads too
				}
				for _, v := range verbs {
					out = append(out, Request{Verb: v, Group: g, Resource: res, Subresource: sub})
				}
			}
		}
	}
	return out
}

// subresources lists the subresources of the resources rules watch, so a
// rule's subresource list applies only where it exists.
var subresources = map[string][]string{
	"pods":         {"exec", "attach", "portforward", "proxy", "log", "ephemeralcontainers", "status", "binding", "eviction"},
	"services":     {"status", "proxy"},
	"deployments":  {"status", "scale"},
	"statefulsets": {"status", "scale"},
	"replicasets":  {"status", "scale"},
	"daemonsets":   {"status"},
	"jobs":         {"status"}, "cronjobs": {"status"},
	"replicationcontrollers": {"status", "scale"},
	"configmaps":             {}, "secrets": {}, "roles": {}, "clusterroles": {}, "rolebindings": {}, "clusterrolebindings": {},
	"validatingwebhookconfigurations": {}, "mutatingwebhookconfigurations": {}, "events": {},
}

// resourceGroups maps the resources built-in rules watch to their API
// groups (events live in two). Unknown resources are taken as core.
var resourceGroups = map[string][]string{
	"pods": {""}, "services": {""}, "configmaps": {""}, "secrets": {""}, "serviceaccounts": {""},
	"replicationcontrollers": {""}, "namespaces": {""}, "nodes": {""},
	"events":      {"", "events.k8s.io"},
	"deployments": {"apps"}, "statefulsets": {"apps"}, "daemonsets": {"apps"}, "replicasets": {"apps"},
	"jobs": {"batch"}, "cronjobs": {"batch"},
	"roles": {"rbac.authorization.k8s.io"}, "clusterroles": {"rbac.authorization.k8s.io"},
	"rolebindings": {"rbac.authorization.k8s.io"}, "clusterrolebindings": {"rbac.authorization.k8s.io"},
	"validatingwebhookconfigurations": {"admissionregistration.k8s.io"},
	"mutatingwebhookconfigurations":   {"admissionregistration.k8s.io"},
	"ingresses":                       {"networking.k8s.io"}, "networkpolicies": {"networking.k8s.io"},
	"tokenreviews": {"authentication.k8s.io"},
}

// GroupsOf returns the API groups of a resource ("*": any).
func GroupsOf(resource string) []string {
	if resource == "*" {
		return []string{"*"}
	}
	if g, ok := resourceGroups[resource]; ok {
		return g
	}
	return []string{""}
}
