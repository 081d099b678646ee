package bulwark.policies.pss_restricted_volumes_test

import data.bulwark.policies.pss_restricted_volumes as p

import data.bulwark.testdata.pss

base_ctr := {"name": "web", "image": "web:1", "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}

base := {"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}, "containers": [base_ctr]}

inp(spec) := {"pss": pss.facts.latest, "pod": {"path": "spec", "metadata": {}, "spec": spec}, "containers": [object.union(c, {"_kind": "containers", "_path": sprintf("spec.containers[%d]", [i])}) | some i, c in spec.containers]}

with_pod(patch) := inp(object.union(base, patch))

with_ctr(patch) := inp(object.union(base, {"containers": [object.union(base_ctr, patch)]}))

with_sc(sc) := with_ctr({"securityContext": sc})


test_allowed_types if {
	vols := [{"name": n, n: {}} | some n in ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"]]
	count(p.violation) == 0 with input as with_pod({"volumes": vols})
}

test_nfs_denied if {
	v := p.violation with input as with_pod({"volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "share", "nfs": {"server": "nfs", "path": "/"}}]})
	v == {{"msg": "volume \"share\" must not use restricted volume type \"nfs\"", "path": "spec.volumes[1]"}}
}

test_host_path_denied if count(p.violation) == 1 with input as with_pod({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]})

test_unknown_denied if {
	v := p.violation with input as with_pod({"volumes": [{"name": "x", "someFutureSource": {}}]})
	v == {{"msg": "volume \"x\" must not use restricted volume type \"unknown\"", "path": "spec.volumes[0]"}}
}

# The API server defaults a volume without a source to emptyDir.
test_no_source_allowed if count(p.violation) == 0 with input as with_pod({"volumes": [{"name": "volume0"}]})
