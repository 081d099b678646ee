# Pod Security Standards (baseline) sysctls: only the namespaced, isolated
# "safe" sysctls may be set in spec.securityContext.sysctls. The safe list
# grew with the versions of the Standards (1.27, 1.29, 1.32, 1.37): it is
# input.pss.sysctls.safe, from pss_versions.yaml at the evaluated version.
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

violation contains {"msg": sprintf("pod must not set forbidden sysctl %q", [name]), "path": sprintf("%s.securityContext.sysctls[%d].name", [input.pod.path, i])} if {
	some i, s in input.pod.spec.securityContext.sysctls
	name := object.get(s, "name", "")
	not input.pss.sysctls.safe[name]
}
