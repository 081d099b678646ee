package k8sbench

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Workload checks read the running pods outside Kubernetes' own namespaces
// and, for the 5.2 admission controls, each namespace's Pod Security
// admission enforce level: a control is met when no pod does the thing and
// every namespace's enforce level forbids it.

const psaEnforce = "pod-security.kubernetes.io/enforce"

// psaLevel is a namespace's enforce level ("privileged" when unlabelled).
func psaLevel(ns corev1.Namespace) string {
	if l := ns.Labels[psaEnforce]; l != "" {
		return l
	}
	return "privileged"
}

func allContainers(p *corev1.Pod) []corev1.Container {
	out := make([]corev1.Container, 0, len(p.Spec.InitContainers)+len(p.Spec.Containers))
	out = append(out, p.Spec.InitContainers...)
	return append(out, p.Spec.Containers...)
}

// podCond returns what is wrong with one pod ("" when nothing).
type podCond func(p *corev1.Pod) string

// admissionCheck (5.2.x): pods that do it, and namespaces whose enforce
// level would admit it (level is the lowest Pod Security level forbidding it).
func admissionCheck(level string, cond podCond) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		var ev []string
		for i := range s.Cluster.Pods {
			p := &s.Cluster.Pods[i]
			if systemNamespace(p.Namespace) {
				continue
			}
			if why := cond(p); why != "" {
				ev = append(ev, fmt.Sprintf("pod %s/%s: %s", p.Namespace, p.Name, why))
			}
		}
		sort.Strings(ev)
		var open []string
		for _, ns := range s.Cluster.Namespaces {
			if systemNamespace(ns.Name) {
				continue
			}
			l := psaLevel(ns)
			if l == "privileged" || (level == "restricted" && l == "baseline") {
				open = append(open, fmt.Sprintf("%s (%s)", ns.Name, l))
			}
		}
		if len(open) > 0 {
			ev = append(ev, fmt.Sprintf("namespaces whose Pod Security enforce level admits it (needs %s): %s", level, strings.Join(open, ", ")))
		}
		if len(ev) > 0 {
			return unhealthy(ev...)
		}
		return healthy("no pod does it and every namespace enforces " + level + " or stricter")
	}
}

func privileged(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			return "container " + c.Name + " is privileged"
		}
	}
	return ""
}

func hostPID(p *corev1.Pod) string { return when(p.Spec.HostPID, "hostPID: true") }
func hostIPC(p *corev1.Pod) string { return when(p.Spec.HostIPC, "hostIPC: true") }
func hostNet(p *corev1.Pod) string { return when(p.Spec.HostNetwork, "hostNetwork: true") }

func when(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func privEscalation(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			return "container " + c.Name + " does not set allowPrivilegeEscalation: false"
		}
	}
	return ""
}

func rootContainers(p *corev1.Pod) string {
	podNonRoot := p.Spec.SecurityContext != nil && p.Spec.SecurityContext.RunAsNonRoot != nil && *p.Spec.SecurityContext.RunAsNonRoot
	for _, c := range allContainers(p) {
		sc := c.SecurityContext
		if sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			return "container " + c.Name + " runs as uid 0"
		}
		nonRoot := podNonRoot
		if sc != nil && sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
		if !nonRoot {
			return "container " + c.Name + " may run as root (runAsNonRoot not true)"
		}
	}
	return ""
}

func capsOf(c corev1.Container) []string {
	if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
		return nil
	}
	var out []string
	for _, a := range c.SecurityContext.Capabilities.Add {
		out = append(out, strings.TrimPrefix(strings.ToUpper(string(a)), "CAP_"))
	}
	return out
}

func netRaw(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		for _, a := range capsOf(c) {
			if a == "NET_RAW" || a == "ALL" {
				return "container " + c.Name + " adds " + a
			}
		}
	}
	return ""
}

func addedCaps(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		for _, a := range capsOf(c) {
			if a != "NET_BIND_SERVICE" {
				return "container " + c.Name + " adds " + a
			}
		}
		drop := c.SecurityContext != nil && c.SecurityContext.Capabilities != nil
		if drop {
			drop = false
			for _, d := range c.SecurityContext.Capabilities.Drop {
				if strings.EqualFold(string(d), "ALL") {
					drop = true
				}
			}
		}
		if !drop {
			return "container " + c.Name + " does not drop ALL capabilities"
		}
	}
	return ""
}

func windowsHostProcess(p *corev1.Pod) string {
	if sc := p.Spec.SecurityContext; sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil && *sc.WindowsOptions.HostProcess {
		return "hostProcess: true"
	}
	for _, c := range allContainers(p) {
		if sc := c.SecurityContext; sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.HostProcess != nil && *sc.WindowsOptions.HostProcess {
			return "container " + c.Name + " hostProcess: true"
		}
	}
	return ""
}

func hostPath(p *corev1.Pod) string {
	for _, v := range p.Spec.Volumes {
		if v.HostPath != nil {
			return "volume " + v.Name + " mounts host path " + v.HostPath.Path
		}
	}
	return ""
}

func hostPorts(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		for _, port := range c.Ports {
			if port.HostPort != 0 {
				return fmt.Sprintf("container %s uses hostPort %d", c.Name, port.HostPort)
			}
		}
	}
	return ""
}

// podCheck: unhealthy when any pod outside the system namespaces meets cond.
func podCheck(ok string, cond podCond) func(*Snapshot) Result {
	return func(s *Snapshot) Result {
		var ev []string
		for i := range s.Cluster.Pods {
			p := &s.Cluster.Pods[i]
			if systemNamespace(p.Namespace) {
				continue
			}
			if why := cond(p); why != "" {
				ev = append(ev, fmt.Sprintf("pod %s/%s: %s", p.Namespace, p.Name, why))
			}
		}
		sort.Strings(ev)
		if len(ev) > 0 {
			return unhealthy(ev...)
		}
		return healthy(ok)
	}
}

// tokenMounted (5.1.6): the pod gets an API token it may not need.
func tokenMounted(sas map[string]*corev1.ServiceAccount) podCond {
	return func(p *corev1.Pod) string {
		if p.Spec.AutomountServiceAccountToken != nil {
			return when(*p.Spec.AutomountServiceAccountToken, "automountServiceAccountToken: true")
		}
		sa := p.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		if a := sas[p.Namespace+"/"+sa]; a != nil && a.AutomountServiceAccountToken != nil && !*a.AutomountServiceAccountToken {
			return ""
		}
		return "service account " + sa + " token mounted automatically"
	}
}

func tokenMounts(s *Snapshot) Result {
	sas := map[string]*corev1.ServiceAccount{}
	for i := range s.Cluster.ServiceAccounts {
		a := &s.Cluster.ServiceAccounts[i]
		sas[a.Namespace+"/"+a.Name] = a
	}
	return podCheck("no pod outside the system namespaces mounts a service account token automatically", tokenMounted(sas))(s)
}

// secretEnv (5.4.1): Secrets passed as environment variables.
func secretEnv(p *corev1.Pod) string {
	for _, c := range allContainers(p) {
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return fmt.Sprintf("container %s: env %s from secret %s", c.Name, e.Name, e.ValueFrom.SecretKeyRef.Name)
			}
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef != nil {
				return fmt.Sprintf("container %s: envFrom secret %s", c.Name, e.SecretRef.Name)
			}
		}
	}
	return ""
}

// seccomp (5.6.2): RuntimeDefault or Localhost on the pod or every container.
func seccomp(p *corev1.Pod) string {
	podSet := p.Spec.SecurityContext != nil && p.Spec.SecurityContext.SeccompProfile != nil && p.Spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeUnconfined
	for _, c := range allContainers(p) {
		sc := c.SecurityContext
		if sc != nil && sc.SeccompProfile != nil {
			if sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
				return "container " + c.Name + " is Unconfined"
			}
			continue
		}
		if !podSet {
			return "container " + c.Name + " has no seccomp profile"
		}
	}
	return ""
}

// securityContext (5.6.3): a pod or container without any security context.
func securityContext(p *corev1.Pod) string {
	if sc := p.Spec.SecurityContext; sc != nil && (sc.RunAsNonRoot != nil || sc.RunAsUser != nil || sc.SeccompProfile != nil || sc.SELinuxOptions != nil || sc.FSGroup != nil || sc.RunAsGroup != nil) {
		return ""
	}
	for _, c := range allContainers(p) {
		if c.SecurityContext == nil {
			return "neither the pod nor container " + c.Name + " sets a securityContext"
		}
	}
	return ""
}

// networkPolicies (5.3.2): every namespace outside the system ones has a
// NetworkPolicy.
func networkPolicies(s *Snapshot) Result {
	has := map[string]bool{}
	for _, np := range s.Cluster.NetworkPolicies {
		has[np.Namespace] = true
	}
	var without []string
	for _, ns := range s.Cluster.Namespaces {
		if !systemNamespace(ns.Name) && !has[ns.Name] {
			without = append(without, ns.Name)
		}
	}
	if len(without) > 0 {
		return unhealthy("namespaces without a NetworkPolicy: " + strings.Join(without, ", "))
	}
	return healthy("every namespace has a NetworkPolicy")
}

// defaultNamespace (5.6.4): user objects in "default" (the kubernetes
// Service is the API server's own).
func defaultNamespace(s *Snapshot) Result {
	var ev []string
	for _, p := range s.Cluster.Pods {
		if p.Namespace == "default" {
			ev = append(ev, "pod default/"+p.Name)
		}
	}
	for _, svc := range s.Cluster.Services {
		if svc.Namespace == "default" && svc.Name != "kubernetes" {
			ev = append(ev, "service default/"+svc.Name)
		}
	}
	sort.Strings(ev)
	if len(ev) > 0 {
		return unhealthy(ev...)
	}
	return healthy("no pod or service besides kubernetes in namespace default")
}

// policyMechanism (5.2.1): Pod Security enforce labels, a validating
// webhook or a ValidatingAdmissionPolicy.
func policyMechanism(s *Snapshot) Result {
	var ev []string
	for _, ns := range s.Cluster.Namespaces {
		if l := ns.Labels[psaEnforce]; l != "" && l != "privileged" {
			ev = append(ev, fmt.Sprintf("namespace %s enforces Pod Security %s", ns.Name, l))
		}
	}
	for _, w := range s.Cluster.ValidatingWebhooks {
		ev = append(ev, "ValidatingWebhookConfiguration "+w.Name)
	}
	if s.Cluster.ValidatingPolicies > 0 {
		ev = append(ev, fmt.Sprintf("%d ValidatingAdmissionPolicies", s.Cluster.ValidatingPolicies))
	}
	if len(ev) == 0 {
		return unhealthy("no namespace enforces a Pod Security level and no validating webhook or admission policy is configured")
	}
	return healthy(ev...)
}

// namespacesManual (5.6.1): the namespaces, for a person to judge.
func namespacesManual(s *Snapshot) Result {
	names := make([]string, 0, len(s.Cluster.Namespaces))
	for _, ns := range s.Cluster.Namespaces {
		names = append(names, ns.Name)
	}
	return manual("namespaces: " + strings.Join(names, ", "))
}
