package dockerbench

// 1.1.13 Ensure auditing is configured for Docker files and directories - /etc/sysconfig/docker (Automated, Level 2).
// Rationale: it can carry dockerd options on Red Hat-style hosts.
// Audit: a rule in Snapshot.AuditRules watching /etc/sysconfig/docker (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.13", Title: "Ensure auditing is configured for Docker files and directories - /etc/sysconfig/docker", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /etc/sysconfig/docker, e.g. `-w /etc/sysconfig/docker -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditSysconfigDocker})
}

func checkAuditSysconfigDocker(s *Snapshot) Result {
	return hostAuditCheck(s, "/etc/sysconfig/docker", true)
}
