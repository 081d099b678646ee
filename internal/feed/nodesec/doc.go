// Package nodesec loads the Node.js security working group's advisory
// database (nodejs/security-wg vuln/npm/<n>.json): one Vulnerability per
// file (ID the first CVE, else "NSWG-ECO-<id>") and one npm Affected whose
// AffectedConstraints hold the semver range in vulnerable_versions; the
// patched_versions range goes into Note (and into UnaffectedConstraints
// only when vulnerable_versions is empty).
//
// Node.js runtime advisories (vuln/core/*.json) and the index.json roll-ups
// (copies of the per-file records) are recognised but skipped: no
// cataloger reports the node binary yet, and loading an index twice would
// duplicate entries. Load returns 0 for them; the loader counts them
// (Skipped, SkippedCore).
package nodesec
