package bulwark.policies.pss_host_ports_test

import data.bulwark.policies.pss_host_ports as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as with_ctr({"ports": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 0}]})

test_host_port_denied if {
	v := p.violation with input as with_ctr({"ports": [{"containerPort": 8080}, {"containerPort": 9090, "hostPort": 9090}]})
	v == {{"msg": "container \"web\" must not use hostPort 9090", "path": "spec.containers[0].ports[1].hostPort"}}
}

