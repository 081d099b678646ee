package k8sbench

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// RBAC checks look at the bindings people made. Objects the API server
// creates itself (label kubernetes.io/bootstrapping=rbac-defaults) and
// subjects that are Kubernetes' own components are left out: they hold
// these rights by design and no one can remove them.

func isDefaultRBAC(labels map[string]string) bool {
	return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

// perm is one access a check looks for.
type perm struct {
	Group, Resource string // Resource may be "resource/subresource"
	Verbs           []string
}

func matches(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

// grants is true when rule gives any of p's verbs on p's resource.
func grants(rule rbacv1.PolicyRule, p perm) bool {
	if !matches(rule.APIGroups, p.Group) {
		return false
	}
	res := p.Resource
	ok := matches(rule.Resources, res)
	if !ok && strings.Contains(res, "/") {
		// "pods/*" and "*/scale" style wildcards.
		base, sub, _ := strings.Cut(res, "/")
		ok = slices.Contains(rule.Resources, base+"/*") || slices.Contains(rule.Resources, "*/"+sub)
	}
	if !ok {
		return false
	}
	for _, v := range p.Verbs {
		if matches(rule.Verbs, v) {
			return true
		}
	}
	return false
}

// binding is a RoleBinding or ClusterRoleBinding, flattened.
type binding struct {
	Kind, Namespace, Name string
	Role                  rbacv1.RoleRef
	Subjects              []rbacv1.Subject
	Default               bool
}

func (b binding) String() string {
	if b.Namespace != "" {
		return fmt.Sprintf("%s %s/%s → %s %s", b.Kind, b.Namespace, b.Name, b.Role.Kind, b.Role.Name)
	}
	return fmt.Sprintf("%s %s → %s %s", b.Kind, b.Name, b.Role.Kind, b.Role.Name)
}

func bindings(c *Cluster) []binding {
	out := make([]binding, 0, len(c.RoleBindings)+len(c.ClusterRoleBindings))
	for _, b := range c.ClusterRoleBindings {
		out = append(out, binding{Kind: "ClusterRoleBinding", Name: b.Name, Role: b.RoleRef, Subjects: b.Subjects, Default: isDefaultRBAC(b.Labels)})
	}
	for _, b := range c.RoleBindings {
		out = append(out, binding{Kind: "RoleBinding", Namespace: b.Namespace, Name: b.Name, Role: b.RoleRef, Subjects: b.Subjects, Default: isDefaultRBAC(b.Labels)})
	}
	return out
}

// rulesOf returns a binding's role's rules (nil when the role is missing).
func rulesOf(c *Cluster, b binding) []rbacv1.PolicyRule {
	if b.Role.Kind == "ClusterRole" {
		for _, r := range c.ClusterRoles {
			if r.Name == b.Role.Name {
				return r.Rules
			}
		}
		return nil
	}
	for _, r := range c.Roles {
		if r.Namespace == b.Namespace && r.Name == b.Role.Name {
			return r.Rules
		}
	}
	return nil
}

func subjectString(s rbacv1.Subject) string {
	if s.Kind == "ServiceAccount" {
		return "ServiceAccount " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// systemSubject is a Kubernetes component's own identity.
func systemSubject(s rbacv1.Subject) bool {
	if s.Kind == "ServiceAccount" {
		return s.Namespace == "kube-system"
	}
	return strings.HasPrefix(s.Name, "system:") && s.Name != "system:masters" && s.Name != "system:anonymous" &&
		s.Name != "system:unauthenticated" && s.Name != "system:authenticated" && s.Name != "system:serviceaccounts"
}

// whoCan lists the non-default bindings whose role grants any of perms to
// subjects other than Kubernetes' own components.
func whoCan(c *Cluster, perms ...perm) []string {
	var out []string
	for _, b := range bindings(c) {
		if b.Default {
			continue
		}
		rules := rulesOf(c, b)
		var what []string
		for _, p := range perms {
			for _, r := range rules {
				if grants(r, p) {
					what = append(what, strings.Join(p.Verbs, "/")+" "+p.Resource)
					break
				}
			}
		}
		if len(what) == 0 {
			continue
		}
		var subs []string
		for _, s := range b.Subjects {
			if !systemSubject(s) {
				subs = append(subs, subjectString(s))
			}
		}
		if len(subs) == 0 {
			continue
		}
		out = append(out, fmt.Sprintf("%s grants %s to %s", b, strings.Join(what, ", "), strings.Join(subs, ", ")))
	}
	sort.Strings(out)
	return out
}

// rbacCheck: unhealthy when anyone beyond the defaults holds the access.
func rbacCheck(what string, perms ...perm) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		if who := whoCan(s.Cluster, perms...); len(who) > 0 {
			return unhealthy(who...)
		}
		return healthy("only Kubernetes' default bindings grant " + what)
	}
}

// clusterAdminUsed (5.1.1): bindings to cluster-admin other than the
// default one for system:masters.
func clusterAdminUsed(s *Snapshot) Result {
	var ev []string
	for _, b := range bindings(s.Cluster) {
		if b.Default || b.Role.Kind != "ClusterRole" || b.Role.Name != "cluster-admin" {
			continue
		}
		var subs []string
		for _, sub := range b.Subjects {
			subs = append(subs, subjectString(sub))
		}
		ev = append(ev, b.String()+": "+strings.Join(subs, ", "))
	}
	sort.Strings(ev)
	if len(ev) > 0 {
		return unhealthy(ev...)
	}
	return healthy("cluster-admin is bound only by the default binding (group system:masters)")
}

// wildcardRoles (5.1.3): non-default Roles and ClusterRoles with "*" in
// apiGroups, resources or verbs.
func wildcardRoles(s *Snapshot) Result {
	var ev []string
	check := func(kind, name string, rules []rbacv1.PolicyRule) {
		for _, r := range rules {
			var where []string
			if slices.Contains(r.APIGroups, "*") {
				where = append(where, "apiGroups")
			}
			if slices.Contains(r.Resources, "*") {
				where = append(where, "resources")
			}
			if slices.Contains(r.Verbs, "*") {
				where = append(where, "verbs")
			}
			if len(where) > 0 {
				ev = append(ev, fmt.Sprintf("%s %s: * in %s", kind, name, strings.Join(where, ", ")))
				return
			}
		}
	}
	for _, r := range s.Cluster.ClusterRoles {
		if !isDefaultRBAC(r.Labels) && r.AggregationRule == nil {
			check("ClusterRole", r.Name, r.Rules)
		}
	}
	for _, r := range s.Cluster.Roles {
		if !isDefaultRBAC(r.Labels) {
			check("Role", r.Namespace+"/"+r.Name, r.Rules)
		}
	}
	sort.Strings(ev)
	if len(ev) > 0 {
		return unhealthy(ev...)
	}
	return healthy("no Role or ClusterRole beyond Kubernetes' defaults uses *")
}

// systemMasters (5.1.7): bindings naming the group system:masters beyond
// the default cluster-admin one. Client certificates with O=system:masters
// cannot be seen from the API; the evidence says so.
func systemMasters(s *Snapshot) Result {
	var ev []string
	for _, b := range bindings(s.Cluster) {
		if b.Default {
			continue
		}
		for _, sub := range b.Subjects {
			if sub.Kind == "Group" && sub.Name == "system:masters" {
				ev = append(ev, b.String()+": Group system:masters")
			}
		}
	}
	if len(ev) > 0 {
		return unhealthy(ev...)
	}
	return healthy("no binding beyond the default names group system:masters (certificates issued with O=system:masters cannot be seen from the API)")
}

// defaultServiceAccounts (5.1.5): default service accounts should not
// mount tokens automatically nor be granted anything.
func defaultServiceAccounts(s *Snapshot) Result {
	var ev []string
	for _, sa := range s.Cluster.ServiceAccounts {
		if sa.Name != "default" || systemNamespace(sa.Namespace) {
			continue
		}
		if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
			ev = append(ev, fmt.Sprintf("ServiceAccount %s/default: automountServiceAccountToken is not false", sa.Namespace))
		}
	}
	for _, b := range bindings(s.Cluster) {
		if b.Default {
			continue
		}
		for _, sub := range b.Subjects {
			if sub.Kind == "ServiceAccount" && sub.Name == "default" && !systemNamespace(sub.Namespace) {
				ev = append(ev, fmt.Sprintf("%s binds ServiceAccount %s/default", b, sub.Namespace))
			}
		}
	}
	sort.Strings(ev)
	if len(ev) > 0 {
		return unhealthy(ev...)
	}
	return healthy("every default service account outside the system namespaces sets automountServiceAccountToken: false and is bound to nothing")
}

// systemNamespace: Kubernetes' own namespaces, left out of workload checks
// (CIS scopes 5.x to user workloads).
func systemNamespace(ns string) bool {
	return ns == "kube-system" || ns == "kube-public" || ns == "kube-node-lease"
}
