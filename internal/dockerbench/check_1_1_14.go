package dockerbench

// 1.1.14 Ensure auditing is configured for Docker files and directories - /usr/bin/containerd (Automated, Level 2).
// Rationale: containerd runs as root and manages every container.
// Audit: a rule in Snapshot.AuditRules watching /usr/bin/containerd (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.14", Title: "Ensure auditing is configured for Docker files and directories - /usr/bin/containerd", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /usr/bin/containerd, e.g. `-w /usr/bin/containerd -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditContainerdBin})
}

func checkAuditContainerdBin(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/containerd", true)
}
