# Defender: immutable (read-only) root filesystem should be enforced for containers.
package bulwark.policies.readonly_rootfs

metadata := {
	"id": "BW-K8S-READONLY-ROOTFS",
	"title": "Containers should run with a read-only root filesystem",
	"severity": "medium",
	"description": "A writable root filesystem lets an attacker who gets into the container drop binaries or change its software.",
	"remediation": "Set securityContext.readOnlyRootFilesystem: true on every container and mount emptyDir volumes where the application must write.",
	"default_mode": "audit",
	"sets": ["defender"],
}

violation contains {"msg": sprintf("container %q does not set securityContext.readOnlyRootFilesystem: true", [c.name]), "path": sprintf("%s.securityContext.readOnlyRootFilesystem", [c._path])} if {
	some c in input.containers
	not c.securityContext.readOnlyRootFilesystem == true
}
