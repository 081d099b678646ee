# Pod Security Standards (restricted) runAsNonRoot: containers must run as
# non-root. spec.securityContext.runAsNonRoot must not be false, and every
# container must set runAsNonRoot=true itself or inherit true from the pod
# (an explicit container-level false is forbidden even then). Policy 1.35+:
# pods in a user namespace (spec.hostUsers: false) are exempt.
#
# Unlike PSA, which stops at explicit settings, implicit containers are also
# reported when the pod sets false: the admit/deny decision is the same.
package bulwark.policies.pss_run_as_non_root

metadata := {
	"id": "BW-PSS-RUN-AS-NON-ROOT",
	"title": "Containers must run as non-root",
	"severity": "medium",
	"description": "A container running as root is one kernel or runtime bug away from root on the node.",
	"remediation": "Set spec.securityContext.runAsNonRoot: true (or on every container) and build images with a non-root USER.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "runAsNonRoot",
}

# Policy 1.35+ (input.pss.runAsNonRoot.user_namespace_exempt).
user_namespace if {
	input.pod.spec.hostUsers == false
	input.pss.runAsNonRoot.user_namespace_exempt
}

pod_non_root if input.pod.spec.securityContext.runAsNonRoot == true

container_setting(c) := c.securityContext.runAsNonRoot if {
	c.securityContext.runAsNonRoot != null
}

violation contains {"msg": "pod must not set securityContext.runAsNonRoot=false", "path": sprintf("%s.securityContext.runAsNonRoot", [input.pod.path])} if {
	not user_namespace
	input.pod.spec.securityContext.runAsNonRoot == false
}

violation contains {"msg": sprintf("container %q must not set securityContext.runAsNonRoot=false", [c.name]), "path": sprintf("%s.securityContext.runAsNonRoot", [c._path])} if {
	not user_namespace
	some c in input.containers
	c.securityContext.runAsNonRoot == false
}

violation contains {"msg": sprintf("pod or container %q must set securityContext.runAsNonRoot=true", [c.name]), "path": sprintf("%s.securityContext.runAsNonRoot", [c._path])} if {
	not user_namespace
	not pod_non_root
	some c in input.containers
	object.get(c, ["securityContext", "runAsNonRoot"], null) in {null, false}
}
