# Defender: container CPU and memory limits should be enforced.
package bulwark.policies.resource_limits

metadata := {
	"id": "BW-K8S-RESOURCE-LIMITS",
	"title": "Container CPU and memory limits should be enforced",
	"severity": "medium",
	"description": "A container without CPU and memory limits can starve its node and the other workloads on it, and makes a resource-exhaustion attack easy.",
	"remediation": "Set resources.limits.cpu and resources.limits.memory on every container and init container.",
	"default_mode": "audit",
	"sets": ["defender"],
}

# Ephemeral containers may not set resources, so they are not checked.
checked_kinds := {"containers", "initContainers"}

# A missing, null or empty limit is no limit. object.get rather than a
# helper function taking the container: cheaper per container.
violation contains {"msg": sprintf("container %q has no %s limit", [c.name, r]), "path": sprintf("%s.resources.limits.%s", [c._path, r])} if {
	some c in input.containers
	c._kind in checked_kinds
	some r in ["cpu", "memory"]
	object.get(c, ["resources", "limits", r], null) in {null, ""}
}
