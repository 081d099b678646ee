package bulwark.policies.image_tag_test

import data.bulwark.policies.image_tag

pod(image) := {"containers": [{"name": "app", "image": image, "_kind": "containers", "_path": "spec.containers[0]"}]}

test_versioned_tag_allowed if {
	count(image_tag.violation) == 0 with input as pod("registry.example.com:5000/app:1.2.3")
}

test_digest_allowed if {
	count(image_tag.violation) == 0 with input as pod("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
}

test_latest_denied if {
	v := image_tag.violation with input as pod("nginx:latest")
	v == {{"msg": "container \"app\" uses image \"nginx:latest\" with the :latest tag", "path": "spec.containers[0].image"}}
}

test_untagged_with_registry_port_denied if {
	count(image_tag.violation) == 1 with input as pod("localhost:5000/app")
}

test_require_digest_denies_tag if {
	count(image_tag.violation) == 1 with input as object.union(pod("nginx:1.27"), {"params": {"require_digest": true}})
}

test_require_digest_allows_digest if {
	count(image_tag.violation) == 0 with input as object.union(pod("nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), {"params": {"require_digest": true}})
}
