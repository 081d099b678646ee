package model

// ImageVerdict is what the server knows of one image's vulnerabilities, as
// the workload policies (BW-K8S-IMAGE-VULNS), the admission webhook and
// `audit k8s` read it (GET/POST /api/v1/images/verdict…): the verdict and
// counts of the image's stored match, resolved from the reference a pod
// names.
type ImageVerdict struct {
	// Image is the reference (or digest) as asked.
	Image string `json:"image"`
	// Known is false when the server holds no matched inventory for it
	// (never scanned, or a tag it has not seen): the other fields are then
	// empty, and Error may say why (a reference that does not parse).
	Known bool `json:"known"`
	// Digest is the image's id on the server: its manifest digest, else
	// its config digest.
	Digest string `json:"digest,omitempty"`
	// ResolvedBy says how: "digest" (the reference pinned one the server
	// holds) or "reference" (repository and tag, the digest last seen
	// under it).
	ResolvedBy string `json:"resolved_by,omitempty"`
	// Verdict is the image's health under the server's threshold.
	Verdict Verdict `json:"verdict,omitempty"`
	// WorstSeverity is the highest severity among its active findings
	// ("" when it has none).
	WorstSeverity Severity `json:"worst_severity,omitempty"`
	// Counts are the active findings by severity; Fixable those of them
	// with a fixed version; Exempt the findings an exemption, VEX or
	// ignore file suppressed (not in Counts).
	Counts  Counts `json:"counts"`
	Fixable Counts `json:"fixable"`
	Exempt  Counts `json:"exempt"`
	// DBVersion is the vulnerability DB version (build time) it was
	// matched with.
	DBVersion string `json:"db_version,omitempty"`
	Error     string `json:"error,omitempty"`
}
