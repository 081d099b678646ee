# Pod Security Standards (baseline) procMount: the default /proc masks are
# required (securityContext.procMount undefined or Default), unless the pod
# runs in a user namespace (spec.hostUsers: false, policy 1.35+).
package bulwark.policies.pss_proc_mount

metadata := {
	"id": "BW-PSS-PROC-MOUNT",
	"title": "Containers must keep the default /proc mount",
	"severity": "medium",
	"description": "An Unmasked /proc exposes kernel interfaces the runtime normally hides from containers.",
	"remediation": "Remove securityContext.procMount or set it to Default, or run the pod in a user namespace (spec.hostUsers: false).",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "procMount",
}

# Policy 1.35+ (input.pss.procMount.user_namespace_exempt).
user_namespace if {
	input.pod.spec.hostUsers == false
	input.pss.procMount.user_namespace_exempt
}

violation contains {"msg": sprintf("container %q must not set securityContext.procMount to %q", [c.name, c.securityContext.procMount]), "path": sprintf("%s.securityContext.procMount", [c._path])} if {
	not user_namespace
	some c in input.containers
	c.securityContext.procMount != null
	c.securityContext.procMount != "Default"
}
