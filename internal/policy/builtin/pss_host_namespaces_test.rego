package bulwark.policies.pss_host_namespaces_test

import data.bulwark.policies.pss_host_namespaces as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_compliant_allowed if count(p.violation) == 0 with input as inp(base)

test_false_allowed if count(p.violation) == 0 with input as with_pod({"hostNetwork": false, "hostPID": false, "hostIPC": false})

test_each_denied if {
	v := p.violation with input as with_pod({"hostNetwork": true, "hostPID": true, "hostIPC": true})
	v == {
		{"msg": "pod must not set hostNetwork=true", "path": "spec.hostNetwork"},
		{"msg": "pod must not set hostPID=true", "path": "spec.hostPID"},
		{"msg": "pod must not set hostIPC=true", "path": "spec.hostIPC"},
	}
}

