# Defender: services should not be exposed with LoadBalancer/NodePort where disallowed.
package bulwark.policies.service_type

metadata := {
	"id": "BW-K8S-SERVICE-TYPE",
	"title": "Services should not be exposed outside the cluster unless allowed",
	"severity": "medium",
	"description": "A Service of type LoadBalancer or NodePort exposes the workload outside the cluster network.",
	"remediation": "Use type ClusterIP behind an Ingress with TLS, or add the type to the policy parameter allowed_types.",
	"default_mode": "audit",
	"sets": ["defender"],
}

default allowed_types := ["ClusterIP", "ExternalName"]

# Read through input.params only (not object.get(input, …)), so the engine
# can give each policy its params in one shared input.
allowed_types := input.params.allowed_types

violation contains {"msg": sprintf("Service %q has type %s, which is not allowed (allowed: %s)", [object.get(input.metadata, "name", ""), t, concat(", ", allowed_types)]), "path": "spec.type"} if {
	input.kind == "Service"
	t := object.get(input.object, ["spec", "type"], "ClusterIP")
	not t in allowed_types
}
