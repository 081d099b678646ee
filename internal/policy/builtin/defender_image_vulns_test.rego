package bulwark.policies.image_vulns_test

import data.bulwark.policies.image_vulns

pod(image, scan) := {
	"containers": [{"name": "app", "image": image, "_kind": "containers", "_path": "spec.containers[0]"}],
	"params": {"scan": scan},
}

test_critical_denied if {
	v := image_vulns.violation with input as pod("shop:1.0", {"shop:1.0": {"critical": 3}})
	v == {{"msg": "container \"app\" uses image \"shop:1.0\" with 3 critical vulnerabilities", "path": "spec.containers[0].image"}}
}

test_clean_allowed if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {"shop:1.0": {"critical": 0}})
}

test_unknown_image_not_judged if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {})
}
