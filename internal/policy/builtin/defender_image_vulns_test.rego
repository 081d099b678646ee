package bulwark.policies.image_vulns_test

import data.bulwark.policies.image_vulns

pod(image, scan, params) := {
	"containers": [{"name": "app", "image": image, "_kind": "containers", "_path": "spec.containers[0]"}],
	"params": object.union(params, {"scan": scan}),
}

verdict(critical, high, fixable_high) := {"critical": critical, "high": high, "medium": 0, "low": 0, "unknown": 0,
	"fixable": {"critical": 0, "high": fixable_high, "medium": 0, "low": 0, "unknown": 0}}

test_critical_denied if {
	v := image_vulns.violation with input as pod("shop:1.0", {"shop:1.0": verdict(3, 1, 0)}, {})
	v == {{"msg": "container \"app\" uses image \"shop:1.0\" with 3 critical vulnerabilities at or above critical", "path": "spec.containers[0].image"}}
}

test_high_threshold_counts_both if {
	v := image_vulns.violation with input as pod("shop:1.0", {"shop:1.0": verdict(3, 1, 0)}, {"severity": "high"})
	v == {{"msg": "container \"app\" uses image \"shop:1.0\" with 3 critical, 1 high vulnerabilities at or above high", "path": "spec.containers[0].image"}}
}

test_high_only_below_critical_threshold if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {"shop:1.0": verdict(0, 4, 4)}, {})
}

test_fixable_only if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {"shop:1.0": verdict(2, 0, 0)}, {"fixable_only": true})
	v := image_vulns.violation with input as pod("shop:1.0", {"shop:1.0": verdict(2, 3, 1)}, {"fixable_only": true, "severity": "high"})
	v == {{"msg": "container \"app\" uses image \"shop:1.0\" with 1 high fixable vulnerabilities at or above high", "path": "spec.containers[0].image"}}
}

test_clean_allowed if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {"shop:1.0": verdict(0, 0, 0)}, {"severity": "low"})
}

test_unknown_image_not_judged if {
	count(image_vulns.violation) == 0 with input as pod("shop:1.0", {}, {})
}
