package auditpolicy

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/bulwarkdev/bulwark/internal/blindspot"
	"github.com/bulwarkdev/bulwark/internal/runtime"
)

// Generate returns the policy that gives every enabled rule what it reads
// at the least cost, in first-match order:
//  1. nothing for health probes and the read-only traffic of the control
//     plane and nodes (the bulk of an audit log, read by no rule);
//  2. Metadata, never more, for Secrets, TokenRequests and TokenReviews,
//     so no secret lands in the log whatever a later rule says;
//  3. the request body (Request, or RequestResponse where a rule reads the
//     response) only for the resources and verbs of rules that read it;
//  4. nothing for event writes unless a rule watches them;
//  5. Metadata for everything else.
//
// The RequestReceived stage is omitted: detection reads completed requests.
func Generate(rules []*runtime.Rule) *Policy {
	p := &Policy{APIVersion: "audit.k8s.io/v1", Kind: "Policy", OmitStages: []string{"RequestReceived"}}
	none := runtime.AuditNone
	p.Rules = append(p.Rules,
		Rule{Level: none, NonResourceURLs: []string{"/healthz*", "/livez*", "/readyz*", "/version", "/version/*", "/metrics", "/openapi/*"}},
		Rule{Level: none, Users: []string{"system:kube-proxy"}, Verbs: []string{"watch"},
			Resources: []GroupResources{{Group: "", Resources: []string{"endpoints", "services", "services/status"}}, {Group: "discovery.k8s.io", Resources: []string{"endpointslices"}}}},
		Rule{Level: none, UserGroups: []string{"system:nodes"}, Verbs: []string{"get", "list", "watch"}},
		Rule{Level: none, Users: []string{"system:kube-controller-manager", "system:kube-scheduler", "system:apiserver"}, Verbs: []string{"get", "list", "watch"}},
		Rule{Level: none, UserGroups: []string{"system:serviceaccounts:kube-system"}, Verbs: []string{"get", "list", "watch"}},
		// Leader election and node heartbeats: writes, but nothing else.
		Rule{Level: none, Users: []string{"system:kube-controller-manager", "system:kube-scheduler"}, Verbs: []string{"get", "update"},
			Namespaces: []string{"kube-system"}, Resources: []GroupResources{{Group: "coordination.k8s.io", Resources: []string{"leases"}}, {Group: "", Resources: []string{"endpoints"}}}},
		Rule{Level: none, UserGroups: []string{"system:nodes"}, Verbs: []string{"update", "patch"},
			Resources: []GroupResources{{Group: "", Resources: []string{"nodes/status", "pods/status"}}, {Group: "coordination.k8s.io", Resources: []string{"leases"}}}},
		Rule{Level: runtime.AuditMetadata, Resources: []GroupResources{
			{Group: "", Resources: []string{"secrets", "serviceaccounts/token"}},
			{Group: "authentication.k8s.io", Resources: []string{"tokenreviews"}},
		}},
	)
	p.Rules = append(p.Rules, bodyRules(rules, runtime.AuditRequestResponse)...)
	p.Rules = append(p.Rules, bodyRules(rules, runtime.AuditRequest)...)
	if !watched(rules, "events", "create", "update", "patch") {
		p.Rules = append(p.Rules, Rule{Level: none, Verbs: []string{"create", "update", "patch"},
			Resources: []GroupResources{{Group: "", Resources: []string{"events"}}, {Group: "events.k8s.io", Resources: []string{"events"}}}})
	}
	p.Rules = append(p.Rules, Rule{Level: runtime.AuditMetadata, OmitStages: []string{"RequestReceived"}})
	return p
}

// bodyRules are the policy rules giving level to the requests of the
// rules that need exactly it: one policy rule per set of verbs, its
// resources grouped by API group.
func bodyRules(rules []*runtime.Rule, level runtime.AuditLevel) []Rule {
	verbsOf := map[[2]string]map[string]bool{} // (group, resource[/sub]) -> verbs
	for _, r := range rules {
		// The level a complete alert needs: Details is never below Audit.
		if !r.IsEnabled() || r.Requirements().Details != level {
			continue
		}
		for _, q := range blindspot.RequestsOf(r) {
			res := q.Resource
			if q.Subresource != "" {
				res += "/" + q.Subresource
			}
			k := [2]string{q.Group, res}
			if verbsOf[k] == nil {
				verbsOf[k] = map[string]bool{}
			}
			verbsOf[k][q.Verb] = true
		}
	}
	byVerbs := map[string]map[string][]string{} // verbs key -> group -> resources
	for k, vs := range verbsOf {
		var verbs []string
		for v := range vs {
			verbs = append(verbs, v)
		}
		slices.Sort(verbs)
		if slices.Contains(verbs, "*") {
			verbs = nil
		}
		key := strings.Join(verbs, ",")
		if byVerbs[key] == nil {
			byVerbs[key] = map[string][]string{}
		}
		byVerbs[key][k[0]] = append(byVerbs[key][k[0]], k[1])
	}
	keys := make([]string, 0, len(byVerbs))
	for k := range byVerbs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Rule
	for _, key := range keys {
		pr := Rule{Level: level}
		if key != "" {
			pr.Verbs = strings.Split(key, ",")
		}
		groups := make([]string, 0, len(byVerbs[key]))
		for g := range byVerbs[key] {
			groups = append(groups, g)
		}
		sort.Strings(groups)
		for _, g := range groups {
			res := byVerbs[key][g]
			sort.Strings(res)
			if g == "*" {
				// A rule on every resource: no resources selector at all.
				pr.Resources = nil
				break
			}
			pr.Resources = append(pr.Resources, GroupResources{Group: g, Resources: res})
		}
		out = append(out, pr)
	}
	return out
}

// watched is true when an enabled audit rule watches resource with one of
// the verbs (or any verb).
func watched(rules []*runtime.Rule, resource string, verbs ...string) bool {
	for _, r := range rules {
		if !r.IsEnabled() || r.Requirements().Audit == "" {
			continue
		}
		for _, q := range blindspot.RequestsOf(r) {
			if (q.Resource == resource || q.Resource == "*") && (q.Verb == "*" || slices.Contains(verbs, q.Verb)) {
				return true
			}
		}
	}
	return false
}

// Write writes the policy as YAML, with the API server flags to use it in
// a comment on top (the file stays a valid policy).
func Write(w io.Writer, p *Policy) error {
	var buf bytes.Buffer
	buf.WriteString(`# Audit policy for Bulwark's run-time detection (bulwark runtime audit-policy).
# Every built-in rule gets what it reads; request bodies are recorded only where a
# rule reads them; Secrets, TokenRequests and TokenReviews never above Metadata.
# Pass to kube-apiserver:
#   --audit-policy-file=/etc/kubernetes/audit/bulwark-policy.yaml
#   --audit-log-path=/var/log/kubernetes/audit/audit.log --audit-log-format=json
#   --audit-log-maxage=30 --audit-log-maxbackup=10 --audit-log-maxsize=100
# and read the log with 'bulwark runtime watch --audit-log /var/log/kubernetes/audit/audit.log',
# or stream it with --audit-webhook-config-file to 'bulwark runtime watch --audit-webhook'.
`)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encode audit policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode audit policy: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
