# Pod Security Standards (baseline) capabilities_baseline: containers may add
# only capabilities from the container runtime's default set (NET_RAW and
# anything beyond the set are forbidden).
package bulwark.policies.pss_capabilities_baseline

metadata := {
	"id": "BW-PSS-CAPABILITIES-BASELINE",
	"title": "Containers must not add capabilities beyond the default set",
	"severity": "high",
	"description": "Capabilities such as SYS_ADMIN, NET_ADMIN or NET_RAW give a container powers over the node's kernel and network that ordinary workloads do not need.",
	"remediation": "Remove the capabilities outside AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT from securityContext.capabilities.add.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "capabilities_baseline",
}

allowed := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

violation contains {"msg": msg, "path": sprintf("%s.securityContext.capabilities.add", [c._path])} if {
	some c in input.containers
	bad := {cap | some cap in c.securityContext.capabilities.add; not allowed[cap]}
	count(bad) > 0
	msg := sprintf("container %q must not include %s in securityContext.capabilities.add", [c.name, quoted(bad)])
}

quoted(set) := concat(", ", [sprintf("%q", [s]) | some s in sort(set)])
