package k8sbench

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/bulwarkdev/bulwark/internal/model"
)

// Cluster-level recommendations beyond the benchmark (ids BW-K8S-CLUSTER-*).

// anonymousAccess: the API server authenticates requests without
// credentials as system:anonymous, and what RBAC gives them beyond the
// defaults.
func anonymousAccess(s *Snapshot) Result {
	c := s.Cluster
	var ev []string
	if p := s.apiserver(); p != nil {
		_, _, e := value(p, "anonymous-auth", "true")
		ev = append(ev, e)
	}
	for _, b := range bindings(c) {
		for _, sub := range b.Subjects {
			if sub.Kind == "User" && sub.Name == "system:anonymous" || sub.Kind == "Group" && (sub.Name == "system:unauthenticated" || sub.Name == "system:anonymous") {
				if !b.Default {
					ev = append(ev, fmt.Sprintf("%s grants to %s", b, subjectString(sub)))
				}
			}
		}
	}
	switch {
	case !c.Anonymous.Done:
		return Result{Status: model.AssessError, Evidence: append([]string{"could not probe: " + c.Anonymous.Err}, ev...)}
	case c.Anonymous.Status == 401:
		return healthy(append([]string{"GET /api without credentials: 401 Unauthorized (anonymous authentication is off)"}, ev...)...)
	}
	return unhealthy(append([]string{fmt.Sprintf("GET /api without credentials: %d (the request was authenticated as system:anonymous)", c.Anonymous.Status)}, ev...)...)
}

// auditLogging: the API server writes audit events (a log file or a
// webhook) under a policy.
func auditLogging(s *Snapshot) Result {
	if s.Profile.Managed() {
		return notAssessed(fmt.Sprintf("%s: the control plane's audit logs are a provider setting (%s); check it there", s.Profile.Name, s.Profile.AuditHint))
	}
	p := s.apiserver()
	if p == nil {
		return notAssessed("the API server's command line is not visible: run on a control-plane node with --node, or where its mirror pod in kube-system can be read")
	}
	pol, polSet, e1 := value(p, "audit-policy-file", "")
	logPath, _, e2 := value(p, "audit-log-path", "")
	hook, _, e3 := value(p, "audit-webhook-config-file", "")
	ev := []string{e1, e2, e3}
	if polSet && pol != "" && (logPath != "" || hook != "") {
		return healthy(ev...)
	}
	return unhealthy(ev...)
}

// psaLabels: namespaces with no Pod Security admission enforce label run
// whatever the cluster-wide default admits (privileged, unless configured).
func psaLabels(s *Snapshot) Result {
	var without []string
	for _, ns := range s.Cluster.Namespaces {
		if systemNamespace(ns.Name) {
			continue
		}
		if ns.Labels[psaEnforce] == "" {
			without = append(without, ns.Name)
		}
	}
	if len(without) > 0 {
		return unhealthy("namespaces without a " + psaEnforce + " label: " + strings.Join(without, ", "))
	}
	return healthy("every namespace has a " + psaEnforce + " label")
}

// servicePorts: Services reachable from outside the cluster (NodePort,
// LoadBalancer, external IPs) on ports outside the allowed list.
func servicePorts(s *Snapshot) Result {
	var ev []string
	for _, svc := range s.Cluster.Services {
		exposed := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer || len(svc.Spec.ExternalIPs) > 0
		if !exposed {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if !slices.Contains(s.AllowedPorts, p.Port) {
				ev = append(ev, fmt.Sprintf("service %s/%s (%s) exposes port %d/%s", svc.Namespace, svc.Name, svc.Spec.Type, p.Port, p.Protocol))
			}
		}
	}
	sort.Strings(ev)
	allowed := make([]string, len(s.AllowedPorts))
	for i, p := range s.AllowedPorts {
		allowed[i] = strconv.Itoa(int(p))
	}
	if len(ev) > 0 {
		return unhealthy(append(ev, "allowed ports: "+strings.Join(allowed, ","))...)
	}
	return healthy("every exposed service port is in the allowed list (" + strings.Join(allowed, ",") + ")")
}

// versionCVEs: the cluster's versions against the Kubernetes CVE feed.
func versionCVEs(s *Snapshot) Result {
	c := s.Cluster
	if len(c.Vulnerable) == 0 {
		return healthy(fmt.Sprintf("Kubernetes %s: no CVE of the Kubernetes CVE feed affects it (%s)", c.Version, c.CVEFeed))
	}
	ev := make([]string, 0, len(c.Vulnerable)+1)
	for _, v := range c.Vulnerable {
		line := fmt.Sprintf("%s (%s) affects %s via %s", v.ID, v.Severity, v.Component, v.Package)
		if v.Fixed != "" {
			line += "; fixed in " + v.Fixed
		}
		if v.Summary != "" {
			line += ": " + v.Summary
		}
		ev = append(ev, line)
	}
	ev = append(ev, "data: "+c.CVEFeed)
	return unhealthy(ev...)
}

// versionSeverity is the highest severity among the version's CVEs, so a
// critical CVE makes the assessment critical.
func versionSeverity(c *Cluster) model.Severity {
	best := model.SeverityLow
	rank := map[model.Severity]int{model.SeverityCritical: 4, model.SeverityHigh: 3, model.SeverityMedium: 2, model.SeverityLow: 1}
	for _, v := range c.Vulnerable {
		if rank[v.Severity] > rank[best] {
			best = v.Severity
		}
	}
	return best
}
