# Defender: running container images should have vulnerability findings resolved.
package bulwark.policies.image_vulns

metadata := {
	"id": "BW-K8S-IMAGE-VULNS",
	"title": "Container images should have no unfixed critical vulnerabilities",
	"severity": "high",
	"description": "An image with known critical vulnerabilities gives an attacker a ready-made way into the workload.",
	"remediation": "Rebuild the image on a patched base and with updated packages (bulwark scan image lists the fixes), then redeploy it.",
	"default_mode": "audit",
	"sets": ["defender"],
	"requires": ["scan"],
}

# input.params.scan maps image -> {"critical": n}, for the images Bulwark has
# scan results for; the engine leaves the others out.
violation contains {"msg": sprintf("container %q uses image %q with %d critical vulnerabilities", [c.name, c.image, n]), "path": sprintf("%s.image", [c._path])} if {
	some c in input.containers
	n := input.params.scan[c.image].critical
	n > 0
}
