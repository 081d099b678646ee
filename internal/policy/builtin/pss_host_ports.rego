# Pod Security Standards (baseline) hostPorts: containers must not bind host
# ports (ports[*].hostPort must be undefined or 0).
package bulwark.policies.pss_host_ports

metadata := {
	"id": "BW-PSS-HOST-PORTS",
	"title": "Containers must not use host ports",
	"severity": "medium",
	"description": "A hostPort exposes the container on the node's own address, bypassing Services and network policies, and ties the pod to nodes where the port is free.",
	"remediation": "Remove ports[*].hostPort and expose the container through a Service.",
	"default_mode": "enforce",
	"sets": ["pss-baseline", "pss-restricted"],
	"pss_control": "hostPorts",
}

violation contains {"msg": sprintf("container %q must not use hostPort %v", [c.name, p.hostPort]), "path": sprintf("%s.ports[%d].hostPort", [c._path, i])} if {
	some c in input.containers
	some i, p in c.ports
	p.hostPort != null
	p.hostPort != 0
}
