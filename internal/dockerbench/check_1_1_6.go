package dockerbench

// 1.1.6 Ensure auditing is configured for Docker files and directories - /etc/docker (Automated, Level 1).
// Rationale: daemon configuration and TLS keys live here.
// Audit: a rule in Snapshot.AuditRules watching /etc/docker (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.6", Title: "Ensure auditing is configured for Docker files and directories - /etc/docker", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /etc/docker, e.g. `-w /etc/docker -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditEtcDocker})
}

func checkAuditEtcDocker(s *Snapshot) Result {
	return hostAuditCheck(s, "/etc/docker", true)
}
