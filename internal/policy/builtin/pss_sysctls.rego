# Pod Security Standards (baseline) sysctls: only the namespaced, isolated
# "safe" sysctls may be set in spec.securityContext.sysctls (the list of
# policy 1.37, the latest).
package bulwark.policies.pss_sysctls

metadata := {
	"id": "BW-PSS-SYSCTLS",
	"title": "Pods must set only safe sysctls",
	"severity": "medium",
	"description": "Unsafe sysctls can disable security mechanisms or affect every container on the node.",
	"remediation": "Remove sysctls outside the safe set from spec.securityContext.sysctls.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "sysctls",
}

safe := {
	"kernel.shm_rmid_forced",
	"net.ipv4.ip_local_port_range",
	"net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range",
	"net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time",
	"net.ipv4.tcp_fin_timeout",
	"net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
	"net.ipv4.tcp_rmem",
	"net.ipv4.tcp_wmem",
	"net.ipv4.tcp_slow_start_after_idle",
	"net.ipv4.tcp_notsent_lowat",
}

violation contains {"msg": sprintf("pod must not set forbidden sysctl %q", [name]), "path": sprintf("%s.securityContext.sysctls[%d].name", [input.pod.path, i])} if {
	some i, s in input.pod.spec.securityContext.sysctls
	name := object.get(s, "name", "")
	not safe[name]
}
