package bulwark.policies.pss_allow_privilege_escalation_test

import data.bulwark.policies.pss_allow_privilege_escalation as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_unset_denied if {
	v := p.violation with input as inp({"containers": [{"name": "web"}]})
	v == {{"msg": "container \"web\" must set securityContext.allowPrivilegeEscalation=false", "path": "spec.containers[0].securityContext.allowPrivilegeEscalation"}}
}

test_true_denied if count(p.violation) == 1 with input as with_sc({"allowPrivilegeEscalation": true})

test_windows_allowed if count(p.violation) == 0 with input as inp({"os": {"name": "windows"}, "containers": [{"name": "web"}]})

