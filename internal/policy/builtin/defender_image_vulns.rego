# Defender: running container images should have vulnerability findings resolved.
package bulwark.policies.image_vulns

metadata := {
	"id": "BW-K8S-IMAGE-VULNS",
	"title": "Container images should have no vulnerabilities at or above the threshold",
	"severity": "high",
	"description": "An image with known vulnerabilities at or above the threshold (params.severity, default critical; params.fixable_only counts only those with a fix) gives an attacker a ready-made way into the workload. The verdicts are the Bulwark server's: audit k8s and the admission webhook fetch them.",
	"remediation": "Rebuild the image on a patched base and with updated packages (bulwark scan image lists the fixes), then redeploy it.",
	"default_mode": "audit",
	"sets": ["defender"],
	"requires": ["scan"],
}

# input.params.scan maps image -> the server's verdict, for the images it
# knows: {"critical": n, "high": n, "medium": n, "low": n, "unknown": n,
# "fixable": {same keys}, "verdict", "digest", "db_version"}; the engine
# leaves the others out (they are reported as not judged).
# params.severity: critical (default), high, medium or low;
# params.fixable_only: count only findings with a fixed version.
order := ["critical", "high", "medium", "low"]

rank := {"critical": 4, "high": 3, "medium": 2, "low": 1}

threshold := object.get(input.params, "severity", "critical")

counts(v) := v.fixable if {
	object.get(input.params, "fixable_only", false) == true
} else := v

fixable_word := " fixable" if {
	object.get(input.params, "fixable_only", false) == true
} else := ""

violation contains {"msg": sprintf("container %q uses image %q with %s%s vulnerabilities at or above %s", [c.name, c.image, concat(", ", parts), fixable_word, threshold]), "path": sprintf("%s.image", [c._path])} if {
	some c in input.containers
	v := input.params.scan[c.image]
	cs := counts(v)
	parts := [sprintf("%d %s", [n, s]) | some s in order; rank[s] >= rank[threshold]; n := object.get(cs, s, 0); n > 0]
	count(parts) > 0
}
