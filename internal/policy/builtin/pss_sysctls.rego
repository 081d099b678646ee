# Pod Security Standards (baseline) sysctls: only the namespaced, isolated
# "safe" sysctls may be set in spec.securityContext.sysctls. The list is
# that of the PodSecurity admission in Kubernetes 1.36 (policy version
# "latest" there), which test/e2e checks us against: 1.37's policy adds
# net.ipv4.tcp_slow_start_after_idle and net.ipv4.tcp_notsent_lowat, but a
# 1.36 API server refuses them, so allowing them here would let CI pass
# pods the cluster rejects.
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
}

violation contains {"msg": sprintf("pod must not set forbidden sysctl %q", [name]), "path": sprintf("%s.securityContext.sysctls[%d].name", [input.pod.path, i])} if {
	some i, s in input.pod.spec.securityContext.sysctls
	name := object.get(s, "name", "")
	not safe[name]
}
