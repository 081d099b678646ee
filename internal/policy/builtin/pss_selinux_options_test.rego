package bulwark.policies.pss_selinux_options_test

import data.bulwark.policies.pss_selinux_options as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_allowed_types if {
	some t in ["container_t", "container_init_t", "container_kvm_t", "container_engine_t", ""]
	count(p.violation) == 0 with input as with_sc({"seLinuxOptions": {"type": t, "level": "s0:c123,c456"}})
}

test_pod_type_denied if {
	v := p.violation with input as with_pod({"securityContext": {"seLinuxOptions": {"type": "spc_t"}}})
	v == {{"msg": "pod must not set securityContext.seLinuxOptions.type to \"spc_t\"", "path": "spec.securityContext.seLinuxOptions.type"}}
}

test_container_user_role_denied if {
	v := p.violation with input as with_sc({"seLinuxOptions": {"user": "system_u", "role": "system_r"}})
	v == {
		{"msg": "container \"web\" must not set securityContext.seLinuxOptions.user", "path": "spec.containers[0].securityContext.seLinuxOptions.user"},
		{"msg": "container \"web\" must not set securityContext.seLinuxOptions.role", "path": "spec.containers[0].securityContext.seLinuxOptions.role"},
	}
}

