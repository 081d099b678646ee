package bulwark.policies.pss_run_as_non_root_test

import data.bulwark.policies.pss_run_as_non_root as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_pod_level_allowed if count(p.violation) == 0 with input as inp(base)

test_container_level_allowed if count(p.violation) == 0 with input as inp({"containers": [object.union(base_ctr, {"securityContext": {"runAsNonRoot": true}})]})

test_unset_denied if {
	v := p.violation with input as inp({"containers": [base_ctr]})
	v == {{"msg": "pod or container \"web\" must set securityContext.runAsNonRoot=true", "path": "spec.containers[0].securityContext.runAsNonRoot"}}
}

test_container_false_overrides_pod_denied if {
	v := p.violation with input as with_sc({"runAsNonRoot": false})
	v == {{"msg": "container \"web\" must not set securityContext.runAsNonRoot=false", "path": "spec.containers[0].securityContext.runAsNonRoot"}}
}

test_pod_false_denied if {
	v := p.violation with input as with_pod({"securityContext": {"runAsNonRoot": false}})
	{"msg": "pod must not set securityContext.runAsNonRoot=false", "path": "spec.securityContext.runAsNonRoot"} in v
}

test_user_namespace_allowed if count(p.violation) == 0 with input as inp({"hostUsers": false, "containers": [object.union(base_ctr, {"securityContext": {"runAsNonRoot": false}})]})

