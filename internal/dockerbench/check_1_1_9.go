package dockerbench

// 1.1.9 Ensure auditing is configured for Docker files and directories - docker.socket (Automated, Level 2).
// Rationale: the socket unit decides who may reach the Docker API.
// Audit: a rule in Snapshot.AuditRules watching the docker.socket unit file from
// Snapshot.Units; not applicable when systemd has no such unit.
func init() {
	register(Control{ID: "1.1.9", Title: "Ensure auditing is configured for Docker files and directories - docker.socket", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on the docker.socket unit file, e.g. `-w /usr/lib/systemd/system/docker.socket -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditDockerSocketUnit})
}

func checkAuditDockerSocketUnit(s *Snapshot) Result {
	if s == nil || s.Units["docker.socket"] == "" {
		return Result{Status: NotApplicable, Evidence: []string{"docker.socket unit file not found"}}
	}
	return hostAuditCheck(s, s.Units["docker.socket"], true)
}
