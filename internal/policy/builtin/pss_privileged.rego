# Pod Security Standards (baseline) privileged: privileged containers disable
# most security mechanisms (securityContext.privileged must be undefined or
# false in every container, init container and ephemeral container).
package bulwark.policies.pss_privileged

metadata := {
	"id": "BW-PSS-PRIVILEGED",
	"title": "Containers must not run privileged",
	"severity": "high",
	"description": "A privileged container has every capability and access to the host's devices; escaping to the node is trivial.",
	"remediation": "Remove securityContext.privileged or set it to false; grant only the capabilities the container needs.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "privileged",
}

violation contains {"msg": sprintf("container %q must not set securityContext.privileged=true", [c.name]), "path": sprintf("%s.securityContext.privileged", [c._path])} if {
	some c in input.containers
	c.securityContext.privileged == true
}
