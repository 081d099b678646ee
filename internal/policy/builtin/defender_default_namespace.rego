# Defender: Kubernetes clusters should not use the default namespace.
package bulwark.policies.default_namespace

metadata := {
	"id": "BW-K8S-DEFAULT-NAMESPACE",
	"title": "Workloads should not run in the default namespace",
	"severity": "low",
	"description": "The default namespace gets no dedicated RBAC, quotas or network policies, so workloads there are harder to isolate.",
	"remediation": "Create a namespace for the application and deploy it there (metadata.namespace).",
	"default_mode": "audit",
	"sets": ["defender"],
}

# Workloads (anything with a pod template) plus the kinds Defender evaluates.
other_kinds := {"Service", "ServiceAccount"}

applies if input.pod != null

applies if input.kind in other_kinds

violation contains {"msg": sprintf("%s %q is in the default namespace", [input.kind, object.get(input.metadata, "name", "")]), "path": "metadata.namespace"} if {
	applies
	input.namespace == "default"
}
