# Defender: container images should be deployed from trusted registries only.
package bulwark.policies.allowed_registries

metadata := {
	"id": "BW-K8S-ALLOWED-REGISTRIES",
	"title": "Container images should be deployed from trusted registries only",
	"severity": "high",
	"description": "Images pulled from registries the organisation does not control may be tampered with or carry unreviewed software.",
	"remediation": "Push the image to one of the allowed registries (policy parameter allowed_registries) and reference it from there.",
	"default_mode": "audit",
	"sets": ["defender"],
	"required_params": ["allowed_registries"],
}

# normalized turns an image reference into registry/repository form, the way
# the container runtime resolves it ("nginx" -> "docker.io/library/nginx").
normalized(image) := image if {
	parts := split(image, "/")
	count(parts) > 1
	explicit_registry(parts[0])
}

normalized(image) := concat("/", ["docker.io", image]) if {
	parts := split(image, "/")
	count(parts) > 1
	not explicit_registry(parts[0])
}

normalized(image) := concat("/", ["docker.io/library", image]) if {
	not contains(image, "/")
}

explicit_registry(first) if contains(first, ".")

explicit_registry(first) if contains(first, ":")

explicit_registry("localhost")

allowed(image) if {
	some r in input.params.allowed_registries
	prefix := trim_suffix(r, "/")
	n := normalized(image)
	startswith(n, concat("", [prefix, "/"]))
}

violation contains {"msg": sprintf("container %q uses image %q from a registry that is not allowed", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	count(input.params.allowed_registries) > 0
	some c in input.containers
	not allowed(c.image)
}
