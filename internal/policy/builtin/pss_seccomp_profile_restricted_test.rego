package bulwark.policies.pss_seccomp_profile_restricted_test

import data.bulwark.policies.pss_seccomp_profile_restricted as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_pod_level_allowed if count(p.violation) == 0 with input as inp(base)

test_container_level_allowed if count(p.violation) == 0 with input as inp({"containers": [object.union(base_ctr, {"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}})]})

test_unset_denied if {
	v := p.violation with input as inp({"containers": [base_ctr]})
	v == {{"msg": "pod or container \"web\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"", "path": "spec.containers[0].securityContext.seccompProfile.type"}}
}

test_container_unconfined_overrides_pod_denied if {
	v := p.violation with input as with_sc({"seccompProfile": {"type": "Unconfined"}})
	v == {{"msg": "container \"web\" must not set securityContext.seccompProfile.type to \"Unconfined\"", "path": "spec.containers[0].securityContext.seccompProfile.type"}}
}

test_pod_unconfined_denied if {
	v := p.violation with input as with_pod({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})
	{"msg": "pod must not set securityContext.seccompProfile.type to \"Unconfined\"", "path": "spec.securityContext.seccompProfile.type"} in v
}

test_windows_allowed if count(p.violation) == 0 with input as inp({"os": {"name": "windows"}, "containers": [{"name": "web"}]})

