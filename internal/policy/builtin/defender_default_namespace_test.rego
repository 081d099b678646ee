package bulwark.policies.default_namespace_test

import data.bulwark.policies.default_namespace

test_workload_in_default_denied if {
	v := default_namespace.violation with input as {"kind": "Deployment", "metadata": {"name": "web"}, "namespace": "default", "pod": {"spec": {}}, "containers": []}
	v == {{"msg": "Deployment \"web\" is in the default namespace", "path": "metadata.namespace"}}
}

test_service_in_default_denied if {
	count(default_namespace.violation) == 1 with input as {"kind": "Service", "metadata": {"name": "web"}, "namespace": "default", "pod": null, "containers": []}
}

test_workload_in_own_namespace_allowed if {
	count(default_namespace.violation) == 0 with input as {"kind": "Deployment", "metadata": {"name": "web"}, "namespace": "shop", "pod": {"spec": {}}, "containers": []}
}

test_configmap_in_default_allowed if {
	count(default_namespace.violation) == 0 with input as {"kind": "ConfigMap", "metadata": {"name": "cfg"}, "namespace": "default", "pod": null, "containers": []}
}
