package dockerbench

// 1.1.5 Ensure auditing is configured for Docker files and directories - /var/lib/docker (Automated, Level 1).
// Rationale: images, containers and volumes live here.
// Audit: a rule in Snapshot.AuditRules watching /var/lib/docker (or a directory
// above it); not applicable when the path does not exist.
func init() {
	register(Control{ID: "1.1.5", Title: "Ensure auditing is configured for Docker files and directories - /var/lib/docker", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /var/lib/docker, e.g. `-w /var/lib/docker -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditVarLibDocker})
}

func checkAuditVarLibDocker(s *Snapshot) Result {
	return hostAuditCheck(s, hostDefaultRootDir, true)
}
