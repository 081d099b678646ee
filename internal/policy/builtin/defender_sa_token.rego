# Defender: Kubernetes clusters should disable automounting API credentials.
package bulwark.policies.sa_token

metadata := {
	"id": "BW-K8S-SA-TOKEN-AUTOMOUNT",
	"title": "Service account token automounting should be disabled",
	"severity": "high",
	"description": "A pod that mounts its service-account token gives anyone who compromises a container credentials for the Kubernetes API.",
	"remediation": "Set automountServiceAccountToken: false on the pod spec, and mount a projected token only in pods that call the API.",
	"default_mode": "audit",
	"sets": ["defender"],
}

violation contains {"msg": "the pod spec does not set automountServiceAccountToken: false", "path": sprintf("%s.automountServiceAccountToken", [input.pod.path])} if {
	input.pod != null
	not input.pod.spec.automountServiceAccountToken == false
}
