# Pod Security Standards (restricted) seccompProfile_restricted: a seccomp
# profile must be set to RuntimeDefault or Localhost, on the pod or on every
# container (a container without one inherits a valid pod-level profile; an
# explicit bad container profile is forbidden even then). Policy 1.25+: pods
# with spec.os.name=windows are exempt.
package bulwark.policies.pss_seccomp_profile_restricted

metadata := {
	"id": "BW-PSS-SECCOMP-PROFILE-RESTRICTED",
	"title": "Pods must set a RuntimeDefault or Localhost seccomp profile",
	"severity": "medium",
	"description": "Without a seccomp profile the container may make every system call; the runtime's default profile blocks the dangerous ones.",
	"remediation": "Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost), or set it on every container.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "seccompProfile_restricted",
}

# Policy 1.25+ (input.pss.seccompProfile_restricted.windows_exempt).
windows if {
	input.pod.spec.os.name == "windows"
	input.pss.seccompProfile_restricted.windows_exempt
}

valid(t) if t in {"RuntimeDefault", "Localhost"}

pod_profile_set if valid(input.pod.spec.securityContext.seccompProfile.type)

violation contains {"msg": sprintf("pod must not set securityContext.seccompProfile.type to %q", [t]), "path": sprintf("%s.securityContext.seccompProfile.type", [input.pod.path])} if {
	not windows
	p := input.pod.spec.securityContext.seccompProfile
	p != null
	t := object.get(p, "type", "")
	not valid(t)
}

violation contains {"msg": sprintf("container %q must not set securityContext.seccompProfile.type to %q", [c.name, t]), "path": sprintf("%s.securityContext.seccompProfile.type", [c._path])} if {
	not windows
	some c in input.containers
	p := c.securityContext.seccompProfile
	p != null
	t := object.get(p, "type", "")
	not valid(t)
}

violation contains {"msg": sprintf("pod or container %q must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"", [c.name]), "path": sprintf("%s.securityContext.seccompProfile.type", [c._path])} if {
	not windows
	not pod_profile_set
	some c in input.containers
	object.get(c, ["securityContext", "seccompProfile"], null) == null
}
