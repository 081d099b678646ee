// Package alpine loads Alpine's secdb (main.json/community.json, the legacy
// YAML of alpine-secdb, and aquasecurity/vuln-list per-package JSON) into
// advisory records: one Affected per (origin package, fixed version, CVE) in
// ecosystem "Alpine:v<major>.<minor>", an ECOSYSTEM range introduced 0,
// fixed V; a secfixes version of "0" means never affected (not-affected).
// The loader returns the number of (package, CVE) records it wrote.
package alpine
