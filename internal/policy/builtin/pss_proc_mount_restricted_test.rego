package bulwark.policies.pss_proc_mount_restricted_test

import data.bulwark.policies.pss_proc_mount_restricted as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as with_sc({"procMount": "Default"})

test_unmasked_user_namespace_denied if {
	obj := object.union(with_sc({"procMount": "Unmasked"}), {"pod": {"spec": {"hostUsers": false}}})
	v := p.violation with input as obj
	v == {{"msg": "container \"web\" must not set securityContext.procMount to \"Unmasked\"", "path": "spec.containers[0].securityContext.procMount"}}
}

