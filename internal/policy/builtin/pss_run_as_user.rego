# Pod Security Standards (restricted) runAsUser (policy 1.23+): neither the pod
# nor a container may set securityContext.runAsUser=0. Policy 1.35+: pods in
# a user namespace (spec.hostUsers: false) are exempt.
package bulwark.policies.pss_run_as_user

metadata := {
	"id": "BW-PSS-RUN-AS-USER",
	"title": "Pods and containers must not run as UID 0",
	"severity": "medium",
	"description": "runAsUser: 0 runs the container as root whatever the image says.",
	"remediation": "Remove runAsUser: 0 or set a non-zero UID.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "runAsUser",
}

# Policy 1.35+ (input.pss.runAsUser.user_namespace_exempt).
user_namespace if {
	input.pod.spec.hostUsers == false
	input.pss.runAsUser.user_namespace_exempt
}

violation contains {"msg": "pod must not set securityContext.runAsUser=0", "path": sprintf("%s.securityContext.runAsUser", [input.pod.path])} if {
	not user_namespace
	input.pod.spec.securityContext.runAsUser == 0
}

violation contains {"msg": sprintf("container %q must not set securityContext.runAsUser=0", [c.name]), "path": sprintf("%s.securityContext.runAsUser", [c._path])} if {
	not user_namespace
	some c in input.containers
	c.securityContext.runAsUser == 0
}
