# Pod Security Standards (restricted) procMount_restricted (policy 1.35+): the
# restricted profile requires the default /proc masks (procMount undefined or
# Default) without the baseline's user-namespace (hostUsers: false) exemption.
package bulwark.policies.pss_proc_mount_restricted

metadata := {
	"id": "BW-PSS-PROC-MOUNT-RESTRICTED",
	"title": "Containers must keep the default /proc mount, even in a user namespace",
	"severity": "medium",
	"description": "An Unmasked /proc exposes kernel interfaces the runtime normally hides from containers; the restricted profile forbids it even for pods in a user namespace.",
	"remediation": "Remove securityContext.procMount or set it to Default.",
	"default_mode": "audit",
	"sets": ["pss-restricted"],
	"pss_control": "procMount_restricted",
}

violation contains {"msg": sprintf("container %q must not set securityContext.procMount to %q", [c.name, c.securityContext.procMount]), "path": sprintf("%s.securityContext.procMount", [c._path])} if {
	some c in input.containers
	c.securityContext.procMount != null
	c.securityContext.procMount != "Default"
}
