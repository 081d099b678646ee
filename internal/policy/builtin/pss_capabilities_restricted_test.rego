package bulwark.policies.pss_capabilities_restricted_test

import data.bulwark.policies.pss_capabilities_restricted as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_net_bind_service_allowed if count(p.violation) == 0 with input as with_sc({"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}})

test_no_drop_denied if {
	v := p.violation with input as with_sc({"capabilities": {"drop": ["NET_RAW"]}})
	v == {{"msg": "container \"web\" must set securityContext.capabilities.drop=[\"ALL\"]", "path": "spec.containers[0].securityContext.capabilities.drop"}}
}

test_add_denied if {
	v := p.violation with input as with_sc({"capabilities": {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE"]}})
	v == {{"msg": "container \"web\" must not include \"CHOWN\" in securityContext.capabilities.add", "path": "spec.containers[0].securityContext.capabilities.add"}}
}

test_windows_allowed if count(p.violation) == 0 with input as inp({"os": {"name": "windows"}, "containers": [{"name": "web"}]})

