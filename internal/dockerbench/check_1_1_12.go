package dockerbench

// 1.1.12 Ensure auditing is configured for Docker files and directories - /etc/containerd/config.toml (Automated, Level 2).
// Rationale: it holds containerd's configuration.
// Audit: a rule in Snapshot.AuditRules watching /etc/containerd/config.toml (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.12", Title: "Ensure auditing is configured for Docker files and directories - /etc/containerd/config.toml", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /etc/containerd/config.toml, e.g. `-w /etc/containerd/config.toml -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditContainerdConfig})
}

func checkAuditContainerdConfig(s *Snapshot) Result {
	return hostAuditCheck(s, "/etc/containerd/config.toml", true)
}
