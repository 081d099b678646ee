package bulwark.policies.pss_proc_mount_test

import data.bulwark.policies.pss_proc_mount as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as with_sc({"procMount": "Default"})

test_unmasked_denied if {
	v := p.violation with input as with_sc({"procMount": "Unmasked"})
	v == {{"msg": "container \"web\" must not set securityContext.procMount to \"Unmasked\"", "path": "spec.containers[0].securityContext.procMount"}}
}

test_unmasked_user_namespace_allowed if {
	obj := object.union(with_sc({"procMount": "Unmasked"}), {"pod": {"spec": {"hostUsers": false}}})
	count(p.violation) == 0 with input as obj
}

test_unmasked_host_users_true_denied if {
	obj := object.union(with_sc({"procMount": "Unmasked"}), {"pod": {"spec": {"hostUsers": true}}})
	count(p.violation) == 1 with input as obj
}

