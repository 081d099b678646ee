# Pod Security Standards (restricted) capabilities_restricted (policy 1.22+):
# every container must drop ALL capabilities and may add back only
# NET_BIND_SERVICE. Policy 1.25+: pods with spec.os.name=windows are exempt.
package bulwark.policies.pss_capabilities_restricted

metadata := {
	"id": "BW-PSS-CAPABILITIES-RESTRICTED",
	"title": "Containers must drop all capabilities",
	"severity": "high",
	"description": "The runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, …) are more than most workloads need and help an attacker inside the container.",
	"remediation": "Set securityContext.capabilities.drop: [\"ALL\"] on every container and add back only NET_BIND_SERVICE if it must bind a port below 1024.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "capabilities_restricted",
}

# Policy 1.25+ (input.pss.capabilities_restricted.windows_exempt).
windows if {
	input.pod.spec.os.name == "windows"
	input.pss.capabilities_restricted.windows_exempt
}

violation contains {"msg": sprintf("container %q must set securityContext.capabilities.drop=[\"ALL\"]", [c.name]), "path": sprintf("%s.securityContext.capabilities.drop", [c._path])} if {
	not windows
	some c in input.containers
	not drops_all(c)
}

drops_all(c) if "ALL" in c.securityContext.capabilities.drop

violation contains {"msg": msg, "path": sprintf("%s.securityContext.capabilities.add", [c._path])} if {
	not windows
	some c in input.containers
	some added in c.securityContext.capabilities.add # cheap guard: most add nothing
	added != "NET_BIND_SERVICE"
	bad := {cap | some cap in c.securityContext.capabilities.add; cap != "NET_BIND_SERVICE"}
	count(bad) > 0
	msg := sprintf("container %q must not include %s in securityContext.capabilities.add", [c.name, concat(", ", [sprintf("%q", [s]) | some s in sort(bad)])])
}
