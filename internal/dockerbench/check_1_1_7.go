package dockerbench

// 1.1.7 Ensure auditing is configured for Docker files and directories - docker.service (Automated, Level 2).
// Rationale: the unit file decides how dockerd is started.
// Audit: a rule in Snapshot.AuditRules watching the docker.service unit file from
// Snapshot.Units; not applicable when systemd has no such unit.
func init() {
	register(Control{ID: "1.1.7", Title: "Ensure auditing is configured for Docker files and directories - docker.service", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on the docker.service unit file, e.g. `-w /usr/lib/systemd/system/docker.service -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditDockerService})
}

func checkAuditDockerService(s *Snapshot) Result {
	if s == nil || s.Units["docker.service"] == "" {
		return Result{Status: NotApplicable, Evidence: []string{"docker.service unit file not found"}}
	}
	return hostAuditCheck(s, s.Units["docker.service"], true)
}
