package bulwark.policies.pss_seccomp_profile_baseline_test

import data.bulwark.policies.pss_seccomp_profile_baseline as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_unset_allowed if count(p.violation) == 0 with input as inp({"containers": [base_ctr]})

test_localhost_allowed if count(p.violation) == 0 with input as with_sc({"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}})

test_pod_unconfined_denied if {
	v := p.violation with input as with_pod({"securityContext": {"seccompProfile": {"type": "Unconfined"}}})
	v == {{"msg": "pod must not set securityContext.seccompProfile.type to \"Unconfined\"", "path": "spec.securityContext.seccompProfile.type"}}
}

test_container_unconfined_denied if {
	v := p.violation with input as with_sc({"seccompProfile": {"type": "Unconfined"}})
	v == {{"msg": "container \"web\" must not set securityContext.seccompProfile.type to \"Unconfined\"", "path": "spec.containers[0].securityContext.seccompProfile.type"}}
}

test_legacy_annotation_ignored if {
	obj := object.union(inp(base), {"pod": {"metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}}}})
	count(p.violation) == 0 with input as obj
}


# Before policy 1.19 the annotations were checked, and the fields were not.
test_policy_1_18_annotations if {
	obj := object.union(inp(base), {"pss": pss.facts["v1.18"], "pod": {"metadata": {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined", "container.seccomp.security.alpha.kubernetes.io/web": "localhost/prof"}}}})
	v := p.violation with input as obj
	v == {{"msg": "annotation seccomp.security.alpha.kubernetes.io/pod must not set seccomp profile \"unconfined\"", "path": "metadata.annotations[\"seccomp.security.alpha.kubernetes.io/pod\"]"}}
}

test_policy_1_18_fields_unchecked if {
	obj := object.union(with_pod({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}), {"pss": pss.facts["v1.18"]})
	count(p.violation) == 0 with input as obj
}
