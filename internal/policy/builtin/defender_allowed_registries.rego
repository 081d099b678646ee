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
# One else chain: the cases are exclusive, and a function of several
# bodies is evaluated in full on every call (OPA checks they agree).
normalized(image) := image if {
	explicit_registry(first_segment(image))
} else := concat("/", ["docker.io", image]) if {
	contains(image, "/")
} else := concat("/", ["docker.io/library", image])

# first_segment is what precedes the first "/", undefined without one.
first_segment(image) := substring(image, 0, i) if {
	i := indexof(image, "/")
	i >= 0
}

explicit_registry(first) if contains(first, ".")

explicit_registry(first) if contains(first, ":")

explicit_registry("localhost")

# allowed_prefixes are the allowed registries as "registry/" prefixes,
# built once per evaluation rather than once per container.
allowed_prefixes contains concat("", [trim_suffix(r, "/"), "/"]) if {
	some r in input.params.allowed_registries
}

allowed(image) if {
	n := normalized(image)
	some prefix in allowed_prefixes
	startswith(n, prefix)
}

violation contains {"msg": sprintf("container %q uses image %q from a registry that is not allowed", [c.name, c.image]), "path": sprintf("%s.image", [c._path])} if {
	count(input.params.allowed_registries) > 0
	some c in input.containers
	not allowed(c.image)
}
