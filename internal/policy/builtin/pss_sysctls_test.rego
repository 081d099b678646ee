package bulwark.policies.pss_sysctls_test

import data.bulwark.policies.pss_sysctls as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_safe_allowed if count(p.violation) == 0 with input as with_pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}, {"name": "kernel.shm_rmid_forced", "value": "1"}]}})

# Safe from the 1.37 policy on, forbidden before.
test_policy_1_37_sysctls if {
	obj := with_pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"}, {"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"}]}})
	count(p.violation) == 0 with input as obj
	count(p.violation) == 2 with input as object.union(obj, {"pss": pss.facts["v1.36"]})
}

# net.ipv4.tcp_rmem became safe in 1.32.
test_policy_1_31_tcp_rmem_denied if {
	v := p.violation with input as object.union(with_pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]}}), {"pss": pss.facts["v1.31"]})
	count(v) == 1
}

test_unsafe_denied if {
	v := p.violation with input as with_pod({"securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]}})
	v == {{"msg": "pod must not set forbidden sysctl \"kernel.msgmax\"", "path": "spec.securityContext.sysctls[1].name"}}
}

