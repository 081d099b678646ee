package bulwark.policies.readonly_rootfs_test

import data.bulwark.policies.readonly_rootfs

ctr(kind, path, sc) := {"name": "app", "_kind": kind, "_path": path, "securityContext": sc}

test_readonly_allowed if {
	count(readonly_rootfs.violation) == 0 with input as {"containers": [ctr("containers", "spec.containers[0]", {"readOnlyRootFilesystem": true})]}
}

test_unset_denied if {
	v := readonly_rootfs.violation with input as {"containers": [{"name": "app", "_kind": "containers", "_path": "spec.containers[0]"}]}
	v == {{"msg": "container \"app\" does not set securityContext.readOnlyRootFilesystem: true", "path": "spec.containers[0].securityContext.readOnlyRootFilesystem"}}
}

test_false_init_container_denied if {
	count(readonly_rootfs.violation) == 1 with input as {"containers": [ctr("initContainers", "spec.initContainers[0]", {"readOnlyRootFilesystem": false})]}
}
