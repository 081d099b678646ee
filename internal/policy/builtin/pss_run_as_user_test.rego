package bulwark.policies.pss_run_as_user_test

import data.bulwark.policies.pss_run_as_user as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as with_pod({"securityContext": {"runAsUser": 1000}})

test_pod_root_denied if {
	v := p.violation with input as with_pod({"securityContext": {"runAsUser": 0}})
	v == {{"msg": "pod must not set securityContext.runAsUser=0", "path": "spec.securityContext.runAsUser"}}
}

test_container_root_denied if {
	v := p.violation with input as with_sc({"runAsUser": 0})
	v == {{"msg": "container \"web\" must not set securityContext.runAsUser=0", "path": "spec.containers[0].securityContext.runAsUser"}}
}

test_user_namespace_allowed if count(p.violation) == 0 with input as object.union(with_sc({"runAsUser": 0}), {"pod": {"spec": {"hostUsers": false}}})

