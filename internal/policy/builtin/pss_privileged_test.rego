package bulwark.policies.pss_privileged_test

import data.bulwark.policies.pss_privileged as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_privileged_false_allowed if count(p.violation) == 0 with input as with_sc({"privileged": false})

test_privileged_denied if {
	v := p.violation with input as with_sc({"privileged": true})
	v == {{"msg": "container \"web\" must not set securityContext.privileged=true", "path": "spec.containers[0].securityContext.privileged"}}
}

test_init_container_denied if {
	v := p.violation with input as {"containers": [{"name": "init", "_kind": "initContainers", "_path": "spec.template.spec.initContainers[0]", "securityContext": {"privileged": true}}]}
	v == {{"msg": "container \"init\" must not set securityContext.privileged=true", "path": "spec.template.spec.initContainers[0].securityContext.privileged"}}
}

test_non_workload_allowed if count(p.violation) == 0 with input as {"pod": null, "containers": []}

