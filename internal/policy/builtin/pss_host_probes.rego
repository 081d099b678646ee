# Pod Security Standards (baseline) hostProbesAndHostLifecycle (policy 1.34+):
# probes and lifecycle handlers must not target another host
# ({liveness,readiness,startup}Probe and lifecycle.{postStart,preStop}
# .{httpGet,tcpSocket}.host must be undefined or empty).
package bulwark.policies.pss_host_probes

metadata := {
	"id": "BW-PSS-HOST-PROBES",
	"title": "Probes and lifecycle handlers must not set a host",
	"severity": "medium",
	"description": "A probe or lifecycle handler with a host makes the kubelet send requests to any address from the node, which can be abused to reach internal services.",
	"remediation": "Remove the host field from httpGet and tcpSocket probes and lifecycle handlers; they then target the pod's own IP.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "hostProbesAndHostLifecycle",
}

# handlers lists every probe and lifecycle handler of c: [field path, handler].
# Plain references rather than a helper function building the handlers:
# this runs on every container of every admission review.
violation contains {"msg": sprintf("container %q must not set %s.host to %q", [c.name, field, host]), "path": sprintf("%s.%s.host", [c._path, field])} if {
	some c in input.containers
	some probe in ["livenessProbe", "readinessProbe", "startupProbe"]
	some action in ["httpGet", "tcpSocket"]
	host := c[probe][action].host
	is_string(host)
	host != ""
	field := sprintf("%s.%s", [probe, action])
}

violation contains {"msg": sprintf("container %q must not set %s.host to %q", [c.name, field, host]), "path": sprintf("%s.%s.host", [c._path, field])} if {
	some c in input.containers
	some h in ["postStart", "preStop"]
	some action in ["httpGet", "tcpSocket"]
	host := c.lifecycle[h][action].host
	is_string(host)
	host != ""
	field := sprintf("lifecycle.%s.%s", [h, action])
}
