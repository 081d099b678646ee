package bulwark.policies.pss_host_probes_test

import data.bulwark.policies.pss_host_probes as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as with_ctr({"livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "host": ""}}, "lifecycle": {"preStop": {"exec": {"command": ["stop"]}}}})

test_probe_host_denied if {
	v := p.violation with input as with_ctr({"readinessProbe": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}}})
	v == {{"msg": "container \"web\" must not set readinessProbe.tcpSocket.host to \"10.0.0.1\"", "path": "spec.containers[0].readinessProbe.tcpSocket.host"}}
}

test_lifecycle_host_denied if {
	v := p.violation with input as with_ctr({"lifecycle": {"postStart": {"httpGet": {"port": 80, "host": "metadata.internal"}}}})
	v == {{"msg": "container \"web\" must not set lifecycle.postStart.httpGet.host to \"metadata.internal\"", "path": "spec.containers[0].lifecycle.postStart.httpGet.host"}}
}

