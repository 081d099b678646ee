package bulwark.policies.pss_apparmor_profile_test

import data.bulwark.policies.pss_apparmor_profile as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_allowed_values if {
	count(p.violation) == 0 with input as with_sc({"appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-nginx"}})
	count(p.violation) == 0 with input as with_pod({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}})
	obj := object.union(inp(base), {"pod": {"metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/web": "localhost/k8s-nginx", "container.apparmor.security.beta.kubernetes.io/side": "runtime/default", "other": "unconfined"}}}})
	count(p.violation) == 0 with input as obj
}

test_pod_unconfined_denied if {
	v := p.violation with input as with_pod({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}})
	v == {{"msg": "pod must not set AppArmor profile type to \"Unconfined\"", "path": "spec.securityContext.appArmorProfile.type"}}
}

test_container_unconfined_denied if {
	v := p.violation with input as with_sc({"appArmorProfile": {"type": "Unconfined"}})
	v == {{"msg": "container \"web\" must not set AppArmor profile type to \"Unconfined\"", "path": "spec.containers[0].securityContext.appArmorProfile.type"}}
}

test_annotation_unconfined_denied if {
	obj := object.union(inp(base), {"pod": {"path": "spec.template.spec", "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/web": "unconfined"}}}})
	v := p.violation with input as obj
	v == {{"msg": "annotation container.apparmor.security.beta.kubernetes.io/web must not set AppArmor profile to \"unconfined\"", "path": "spec.template.metadata.annotations[\"container.apparmor.security.beta.kubernetes.io/web\"]"}}
}

