package bulwark.policies.resource_limits_test

import data.bulwark.policies.resource_limits

test_limits_set_allowed if {
	count(resource_limits.violation) == 0 with input as {"containers": [{
		"name": "app", "_kind": "containers", "_path": "spec.containers[0]",
		"resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
	}]}
}

test_missing_memory_denied if {
	v := resource_limits.violation with input as {"containers": [{
		"name": "app", "_kind": "containers", "_path": "spec.containers[0]",
		"resources": {"limits": {"cpu": "500m"}},
	}]}
	v == {{"msg": "container \"app\" has no memory limit", "path": "spec.containers[0].resources.limits.memory"}}
}

test_no_resources_init_container_denied_twice if {
	v := resource_limits.violation with input as {"containers": [{
		"name": "init", "_kind": "initContainers", "_path": "spec.initContainers[0]",
	}]}
	count(v) == 2
}

test_ephemeral_ignored if {
	count(resource_limits.violation) == 0 with input as {"containers": [{
		"name": "debug", "_kind": "ephemeralContainers", "_path": "spec.ephemeralContainers[0]",
	}]}
}

test_non_workload_allowed if {
	count(resource_limits.violation) == 0 with input as {"containers": [], "pod": null}
}
