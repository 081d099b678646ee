package dockerbench

// 1.1.10 Ensure auditing is configured for Docker files and directories - /etc/default/docker (Automated, Level 2).
// Rationale: it can carry dockerd options on Debian-style hosts.
// Audit: a rule in Snapshot.AuditRules watching /etc/default/docker (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.10", Title: "Ensure auditing is configured for Docker files and directories - /etc/default/docker", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /etc/default/docker, e.g. `-w /etc/default/docker -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditEtcDefaultDocker})
}

func checkAuditEtcDefaultDocker(s *Snapshot) Result {
	return hostAuditCheck(s, "/etc/default/docker", true)
}
