package bulwark.policies.service_type_test

import data.bulwark.policies.service_type

svc(t) := {"kind": "Service", "metadata": {"name": "web"}, "object": {"kind": "Service", "spec": {"type": t}}}

test_clusterip_allowed if {
	count(service_type.violation) == 0 with input as svc("ClusterIP")
}

test_default_type_allowed if {
	count(service_type.violation) == 0 with input as {"kind": "Service", "metadata": {"name": "web"}, "object": {"kind": "Service", "spec": {}}}
}

test_loadbalancer_denied if {
	v := service_type.violation with input as svc("LoadBalancer")
	v == {{"msg": "Service \"web\" has type LoadBalancer, which is not allowed (allowed: ClusterIP, ExternalName)", "path": "spec.type"}}
}

test_nodeport_denied if {
	count(service_type.violation) == 1 with input as svc("NodePort")
}

test_loadbalancer_allowed_by_param if {
	count(service_type.violation) == 0 with input as object.union(svc("LoadBalancer"), {"params": {"allowed_types": ["ClusterIP", "LoadBalancer"]}})
}

test_deployment_ignored if {
	count(service_type.violation) == 0 with input as {"kind": "Deployment", "metadata": {}, "object": {"spec": {"type": "NodePort"}}}
}
