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

has_digest(image) if contains(image, "@")

# tag is the part after the last ":" of the last path element, "" if none.
tag(image) := t if {
	not has_digest(image)
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
}

tag(image) := "" if {
	not has_digest(image)
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}

violation contains {"msg": sprintf("container %q uses image %q without a tag (implicitly :latest)", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	not require_digest
	some c in input.containers
	tag(c.image) == ""
}

violation contains {"msg": sprintf("container %q uses image %q with the :latest tag", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	not require_digest
	some c in input.containers
	tag(c.image) == "latest"
}

violation contains {"msg": sprintf("container %q uses image %q that is not pinned by digest", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	require_digest
	some c in input.containers
	not has_digest(c.image)
}
