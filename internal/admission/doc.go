// Package admission is Bulwark's validating admission webhook: an
// http.Handler speaking admission.k8s.io/v1 AdmissionReview that evaluates
// request.object with the policy engine, a TLS server around it that
// reloads its certificate when the files change, health and Prometheus
// endpoints, and the manifests that install it.
//
// Decisions: any enforce-mode violation denies (HTTP 200, allowed=false,
// status 403) with one message listing every violated policy, its messages
// and remediation; audit-mode violations admit with AdmissionResponse
// warnings and the audit annotation "violations" (the API server records it
// as "<webhook name>/violations", e.g. "validate.bulwark.dev/violations": it
// prefixes every key with the webhook's name, so a key that already holds a
// "/" would be rejected). DELETE and CONNECT requests and exempt namespaces
// are admitted untouched. Dry-run requests are evaluated exactly like the
// others: the webhook has no side effects (sideEffects: None), so there is
// nothing to skip. Evaluation runs under a per-request timeout (default 2 s,
// inside the API server's 10 s); on timeout or engine error the request is
// admitted with a warning when FailOpen is set, denied otherwise.
package admission
