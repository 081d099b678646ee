package bulwark.policies.pss_sysctls_test

import data.bulwark.policies.pss_sysctls as p

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_safe_allowed if count(p.violation) == 0 with input as with_pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}, {"name": "kernel.shm_rmid_forced", "value": "1"}]}})

# Safe only from the 1.37 policy on; Kubernetes 1.36 refuses them.
test_policy_1_37_sysctls_denied if {
	v := p.violation with input as with_pod({"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_slow_start_after_idle", "value": "0"}, {"name": "net.ipv4.tcp_notsent_lowat", "value": "16384"}]}})
	count(v) == 2
}

test_unsafe_denied if {
	v := p.violation with input as with_pod({"securityContext": {"sysctls": [{"name": "kernel.shm_rmid_forced", "value": "1"}, {"name": "kernel.msgmax", "value": "1"}]}})
	v == {{"msg": "pod must not set forbidden sysctl \"kernel.msgmax\"", "path": "spec.securityContext.sysctls[1].name"}}
}

