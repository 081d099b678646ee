# Pod Security Standards (baseline) seccompProfile_baseline: if a seccomp
# profile is set (pod or container securityContext.seccompProfile.type), it
# must be RuntimeDefault or Localhost (Unconfined is forbidden). Before
# policy 1.19 the legacy annotations were checked instead
# (seccomp.security.alpha.kubernetes.io/pod and
# container.seccomp.security.alpha.kubernetes.io/<name>: runtime/default,
# docker/default, localhost/* or unset): input.pss.seccompProfile_baseline
# says which, by version.
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
	input.pss.seccompProfile_baseline.fields
	t := object.get(p, "type", "")
	not valid(t)
}

violation contains {"msg": sprintf("container %q must not set securityContext.seccompProfile.type to %q", [c.name, t]), "path": sprintf("%s.securityContext.seccompProfile.type", [c._path])} if {
	some c in input.containers
	p := c.securityContext.seccompProfile
	p != null
	input.pss.seccompProfile_baseline.fields
	t := object.get(p, "type", "")
	not valid(t)
}

valid_annotation(v) if v in {"runtime/default", "docker/default"}

valid_annotation(v) if startswith(v, "localhost/")

pod_annotation := "seccomp.security.alpha.kubernetes.io/pod"

container_prefix := "container.seccomp.security.alpha.kubernetes.io/"

# One rule for both annotations: every rule of the violation set is
# evaluated on every review, and from 1.19 on this one stops at its first
# line.
violation contains {"msg": sprintf("annotation %s must not set seccomp profile %q", [k, v]), "path": sprintf("%smetadata.annotations[%q]", [trim_suffix(input.pod.path, "spec"), k])} if {
	input.pss.seccompProfile_baseline.annotations
	some k, v in input.pod.metadata.annotations
	seccomp_annotation(k)
	not valid_annotation(v)
}

seccomp_annotation(k) if k == pod_annotation

seccomp_annotation(k) if {
	startswith(k, container_prefix)
	some c in input.containers
	k == concat("", [container_prefix, c.name])
}
