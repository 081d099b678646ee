# Pod Security Standards (restricted) allowPrivilegeEscalation: every
# container must set securityContext.allowPrivilegeEscalation=false
# explicitly. Policy 1.25+: pods with spec.os.name=windows are exempt.
package bulwark.policies.pss_allow_privilege_escalation

metadata := {
	"id": "BW-PSS-ALLOW-PRIVILEGE-ESCALATION",
	"title": "Containers must disallow privilege escalation",
	"severity": "medium",
	"description": "Without allowPrivilegeEscalation=false a process can gain more privileges than its parent, through set-user-ID binaries or file capabilities.",
	"remediation": "Set securityContext.allowPrivilegeEscalation: false on every container, init container and ephemeral container.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "allowPrivilegeEscalation",
}

# Policy 1.25+ (input.pss.allowPrivilegeEscalation.windows_exempt).
windows if {
	input.pod.spec.os.name == "windows"
	input.pss.allowPrivilegeEscalation.windows_exempt
}

violation contains {"msg": sprintf("container %q must set securityContext.allowPrivilegeEscalation=false", [c.name]), "path": sprintf("%s.securityContext.allowPrivilegeEscalation", [c._path])} if {
	not windows
	some c in input.containers
	not c.securityContext.allowPrivilegeEscalation == false
}
