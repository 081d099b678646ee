package dockerbench

// 1.1.15 Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim (Automated, Level 2).
// Rationale: the shim parents every container process.
// Audit: a rule in Snapshot.AuditRules watching /usr/bin/containerd-shim (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.15", Title: "Ensure auditing is configured for Docker files and directories - /usr/bin/containerd-shim", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /usr/bin/containerd-shim, e.g. `-w /usr/bin/containerd-shim -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditContainerdShim})
}

func checkAuditContainerdShim(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/containerd-shim", true)
}
