# Defender: Kubernetes clusters should be accessible only over HTTPS.
package bulwark.policies.ingress_tls

metadata := {
	"id": "BW-K8S-INGRESS-TLS",
	"title": "Ingresses should serve traffic over TLS only",
	"severity": "high",
	"description": "An Ingress without TLS serves the application over plain HTTP, so credentials and data cross the network in clear text.",
	"remediation": "Add spec.tls with a certificate secret covering every host of the Ingress's rules.",
	"default_mode": "audit",
	"sets": ["defender"],
}

tls := object.get(input.object, ["spec", "tls"], [])

tls_hosts contains h if {
	some t in tls
	some h in object.get(t, "hosts", [])
}

violation contains {"msg": sprintf("Ingress %q has no TLS configuration", [object.get(input.metadata, "name", "")]), "path": "spec.tls"} if {
	input.kind == "Ingress"
	count(tls) == 0
}

violation contains {"msg": sprintf("Ingress %q serves host %q without TLS", [object.get(input.metadata, "name", ""), r.host]), "path": sprintf("spec.rules[%d].host", [i])} if {
	input.kind == "Ingress"
	count(tls) > 0
	count(tls_hosts) > 0
	some i, r in object.get(input.object, ["spec", "rules"], [])
	r.host
	not r.host in tls_hosts
}
