# Defender / best practice: no ":latest" tag, optionally require digest pinning.
package bulwark.policies.image_tag

metadata := {
	"id": "BW-K8S-IMAGE-TAG",
	"title": "Container images should be pinned to a version or digest",
	"severity": "medium",
	"description": "An image referenced by the :latest tag or by no tag at all can change under the workload between two pulls, so what runs is not what was reviewed.",
	"remediation": "Reference images by an explicit version tag, or better by digest (image@sha256:...).",
	"default_mode": "audit",
	"sets": ["defender"],
}

require_digest if input.params.require_digest == true

# Builtins inline rather than helper functions: a function call costs
# OPA more than the string checks themselves, on every container of every
# admission review. An image is tagged when a ":" follows its last "/"
# with something after it (a ":" before a "/" is a registry port).
violation contains {"msg": sprintf("container %q uses image %q without a tag (implicitly :latest)", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	not require_digest
	some c in input.containers
	is_string(c.image)
	not contains(c.image, "@")
	not regex.match(`:[^/]+$`, c.image)
}

violation contains {"msg": sprintf("container %q uses image %q with the :latest tag", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	not require_digest
	some c in input.containers
	is_string(c.image)
	endswith(c.image, ":latest")
	not contains(c.image, "@")
}

violation contains {"msg": sprintf("container %q uses image %q that is not pinned by digest", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	require_digest
	some c in input.containers
	not contains(c.image, "@")
}
