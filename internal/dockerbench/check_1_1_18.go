package dockerbench

// 1.1.18 Ensure auditing is configured for Docker files and directories - /usr/bin/runc (Automated, Level 2).
// Rationale: runc creates every container and runs as root.
// Audit: a rule in Snapshot.AuditRules watching /usr/bin/runc (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.18", Title: "Ensure auditing is configured for Docker files and directories - /usr/bin/runc", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /usr/bin/runc, e.g. `-w /usr/bin/runc -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditRunc})
}

func checkAuditRunc(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/runc", true)
}
