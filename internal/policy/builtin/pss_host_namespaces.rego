# Pod Security Standards (baseline) hostNamespaces: sharing the host network,
# PID or IPC namespace is forbidden (spec.hostNetwork, spec.hostPID,
# spec.hostIPC must be undefined or false).
package bulwark.policies.pss_host_namespaces

metadata := {
	"id": "BW-PSS-HOST-NAMESPACES",
	"title": "Pods must not share the host network, PID or IPC namespace",
	"severity": "high",
	"description": "A pod in a host namespace sees the node's network interfaces, processes or shared memory and can attack them or other pods on the node.",
	"remediation": "Remove spec.hostNetwork, spec.hostPID and spec.hostIPC, or set them to false.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "hostNamespaces",
}

violation contains {"msg": sprintf("pod must not set %s=true", [field]), "path": sprintf("%s.%s", [input.pod.path, field])} if {
	some field in ["hostNetwork", "hostPID", "hostIPC"]
	input.pod.spec[field] == true
}
