package bulwark.policies.ingress_tls_test

import data.bulwark.policies.ingress_tls

ing(spec) := {"kind": "Ingress", "metadata": {"name": "web"}, "object": {"kind": "Ingress", "spec": spec}}

test_no_tls_denied if {
	v := ingress_tls.violation with input as ing({"rules": [{"host": "shop.example.com"}]})
	v == {{"msg": "Ingress \"web\" has no TLS configuration", "path": "spec.tls"}}
}

test_tls_covering_hosts_allowed if {
	count(ingress_tls.violation) == 0 with input as ing({
		"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
		"rules": [{"host": "shop.example.com"}],
	})
}

test_host_not_covered_denied if {
	v := ingress_tls.violation with input as ing({
		"tls": [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}],
		"rules": [{"host": "shop.example.com"}, {"host": "admin.example.com"}],
	})
	v == {{"msg": "Ingress \"web\" serves host \"admin.example.com\" without TLS", "path": "spec.rules[1].host"}}
}

test_service_ignored if {
	count(ingress_tls.violation) == 0 with input as {"kind": "Service", "metadata": {}, "object": {"spec": {}}}
}
