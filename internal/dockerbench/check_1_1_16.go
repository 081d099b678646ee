package dockerbench

// 1.1.16 Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim-runc-v1 (Automated, Level 2).
// Rationale: the shim parents every container process.
// Audit: a rule in Snapshot.AuditRules watching /usr/bin/containerd-shim-runc-v1 (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.16", Title: "Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim-runc-v1", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /usr/bin/containerd-shim-runc-v1, e.g. `-w /usr/bin/containerd-shim-runc-v1 -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditShimRuncV1})
}

func checkAuditShimRuncV1(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/containerd-shim-runc-v1", true)
}
