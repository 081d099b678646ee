package bulwark.policies.pss_capabilities_baseline_test

import data.bulwark.policies.pss_capabilities_baseline as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_default_set_allowed if count(p.violation) == 0 with input as with_sc({"capabilities": {"add": ["CHOWN", "NET_BIND_SERVICE", "SYS_CHROOT"]}})

test_net_raw_denied if {
	v := p.violation with input as with_sc({"capabilities": {"add": ["SYS_ADMIN", "CHOWN", "NET_RAW"]}})
	v == {{"msg": "container \"web\" must not include \"NET_RAW\", \"SYS_ADMIN\" in securityContext.capabilities.add", "path": "spec.containers[0].securityContext.capabilities.add"}}
}

