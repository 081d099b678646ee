package dockerbench

// 1.1.3 Ensure auditing is configured for the Docker daemon (Automated, Level 1).
// Rationale: the daemon binary runs as root; changes to it must leave a trail.
// Audit: a rule in Snapshot.AuditRules watching /usr/bin/dockerd (or a directory
// above it); docker-bench requires it whether or not the path exists.
func init() {
	register(Control{ID: "1.1.3", Title: "Ensure auditing is configured for the Docker daemon", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceAudit},
		Remediation: "Add an audit watch on /usr/bin/dockerd, e.g. `-w /usr/bin/dockerd -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditDockerd})
}

func checkAuditDockerd(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/dockerd", false)
}
