// Package policy evaluates Kubernetes workloads against Bulwark's built-in
// Rego policies (Pod Security Standards baseline and restricted, and the
// Defender for Containers workload recommendations) and the user's own, with
// the OPA Go library: queries are prepared once, then evaluated per object.
// The same Engine serves `bulwark scan k8s` (manifests in CI), the admission
// webhook and `bulwark audit k8s` (a live cluster).
//
// # Rego contract
//
// Each policy is one Rego module (v1 syntax) in package
// `bulwark.policies.<name>` with:
//
//	metadata := {"id": "BW-K8S-PRIVILEGED", "title": "...", "severity": "high",
//	             "description": "...", "remediation": "...", "default_mode": "enforce",
//	             "sets": ["pss-baseline", "pss-restricted", "defender"], "pss_control": "privileged"}
//	violation contains {"msg": "...", "path": "spec.containers[0].securityContext.privileged"} if { ... }
//
// and is evaluated against this input (built by the engine from any object
// that carries a pod template, so policies never care about the kind):
//
//	input.kind, input.apiVersion, input.metadata  // the object's own (metadata without managedFields)
//	input.namespace                               // effective namespace
//	input.pod.metadata                            // the pod template's metadata (annotations!)
//	input.pod.spec                                // the pod spec (template.spec, jobTemplate.spec.template.spec, …)
//	input.pod.path                                // field path of that spec in the object: "spec.template.spec"
//	input.containers                              // every container of containers, initContainers, ephemeralContainers,
//	                                              // each with "_kind" ("containers"|"initContainers"|"ephemeralContainers")
//	                                              // and "_path" ("spec.template.spec.initContainers[1]")
//	input.object                                  // the whole object, for non-pod kinds (Service, Ingress)
//	input.params                                  // this policy's parameters from the config
//	input.pss                                     // the Pod Security Standards' facts at the evaluated
//	                                              // version, by control: input.pss.sysctls.safe, …
//	                                              // (builtin/pss_versions.yaml)
//
// # Pod Security Standards versions
//
// builtin/pss_versions.yaml says, per PSS control, its level, the version
// that introduced it, the restricted control that replaces it at the
// restricted level, and the facts its Rego reads that changed at which
// version. The engine builds input.pss for every version once; a review
// picks one (EvaluateDocumentAt). EvaluateNamespaced applies a namespace's
// pod-security.kubernetes.io labels per mode, as the API server does.
//
// Non-workload kinds (Service, Ingress) get input.pod = null and
// input.containers = [].
package policy
