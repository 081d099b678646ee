package bulwark.policies.allowed_registries_test

import data.bulwark.policies.allowed_registries

pod(image) := {"containers": [{"name": "app", "image": image, "_kind": "containers", "_path": "spec.containers[0]"}]}

test_allowed_registry if {
	count(allowed_registries.violation) == 0 with input as object.union(pod("myregistry.azurecr.io/team/app:1.0"), {"params": {"allowed_registries": ["myregistry.azurecr.io"]}})
}

test_docker_hub_denied if {
	v := allowed_registries.violation with input as object.union(pod("nginx:1.27"), {"params": {"allowed_registries": ["myregistry.azurecr.io"]}})
	v == {{"msg": "container \"app\" uses image \"nginx:1.27\" from a registry that is not allowed", "path": "spec.containers[0].image"}}
}

test_docker_hub_library_allowed_when_listed if {
	count(allowed_registries.violation) == 0 with input as object.union(pod("nginx:1.27"), {"params": {"allowed_registries": ["docker.io/library/"]}})
}

test_prefix_is_not_enough if {
	count(allowed_registries.violation) == 1 with input as object.union(pod("myregistry.azurecr.io.evil.com/app"), {"params": {"allowed_registries": ["myregistry.azurecr.io"]}})
}

test_registry_with_port if {
	count(allowed_registries.violation) == 0 with input as object.union(pod("localhost:5000/app"), {"params": {"allowed_registries": ["localhost:5000"]}})
}

test_unset_param_no_violation if {
	count(allowed_registries.violation) == 0 with input as object.union(pod("nginx"), {"params": {}})
}
