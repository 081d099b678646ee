# Pod Security Standards (baseline) seccompProfile_baseline: if a seccomp
# profile is set (pod or container securityContext.seccompProfile.type), it
# must be RuntimeDefault or Localhost (Unconfined is forbidden). Policy 1.19+:
# the legacy seccomp annotations are no longer checked.
package bulwark.policies.pss_seccomp_profile_baseline

metadata := {
	"id": "BW-PSS-SECCOMP-PROFILE-BASELINE",
	"title": "Pods must not disable seccomp",
	"severity": "medium",
	"description": "An Unconfined seccomp profile lets the container make every system call, widening the kernel attack surface.",
	"remediation": "Set securityContext.seccompProfile.type to RuntimeDefault or Localhost, or remove it.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "seccompProfile_baseline",
}

valid(t) if t in {"RuntimeDefault", "Localhost"}

violation contains {"msg": sprintf("pod must not set securityContext.seccompProfile.type to %q", [t]), "path": sprintf("%s.securityContext.seccompProfile.type", [input.pod.path])} if {
	p := input.pod.spec.securityContext.seccompProfile
	p != null
	t := object.get(p, "type", "")
	not valid(t)
}

violation contains {"msg": sprintf("container %q must not set securityContext.seccompProfile.type to %q", [c.name, t]), "path": sprintf("%s.securityContext.seccompProfile.type", [c._path])} if {
	some c in input.containers
	p := c.securityContext.seccompProfile
	p != null
	t := object.get(p, "type", "")
	not valid(t)
}
