package dockerbench

// 1.1.11 Ensure auditing is configured for Docker files and directories - /etc/docker/daemon.json (Automated, Level 2).
// Rationale: it holds the daemon's configuration.
// Audit: a rule in Snapshot.AuditRules watching /etc/docker/daemon.json (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.11", Title: "Ensure auditing is configured for Docker files and directories - /etc/docker/daemon.json", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /etc/docker/daemon.json, e.g. `-w /etc/docker/daemon.json -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditDaemonJSON})
}

func checkAuditDaemonJSON(s *Snapshot) Result {
	return hostAuditCheck(s, hostDefaultDaemonCfg, true)
}
