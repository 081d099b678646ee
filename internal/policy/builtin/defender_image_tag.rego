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

# tag is the part after the first ":" of the last path element, "" if none;
# undefined for a digest reference. One body: a function with several is
# evaluated in full on every call (OPA checks they agree).
tag(image) := t if {
	not has_digest(image)
	parts := split(image, "/")
	t := second(split(parts[count(parts) - 1], ":"))
}

second(list) := list[1] if count(list) > 1 else := ""

# tag_problem says what is wrong with a tag; undefined for a good one. One
# rule computes each container's tag once for both problems.
tag_problem("") := "without a tag (implicitly :latest)"

tag_problem("latest") := "with the :latest tag"

violation contains {"msg": sprintf("container %q uses image %q %s", [c.name, c.image, problem]), "path": sprintf("%s.image", [c._path])} if {
	not require_digest
	some c in input.containers
	problem := tag_problem(tag(c.image))
}

violation contains {"msg": sprintf("container %q uses image %q that is not pinned by digest", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	require_digest
	some c in input.containers
	not has_digest(c.image)
}
