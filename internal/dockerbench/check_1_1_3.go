package dockerbench

// 1.1.3 Ensure auditing is configured for the Docker daemon (Automated, Level 1).
// Rationale: the daemon binary runs as root; changes to it must leave a trail.
// Audit: a rule in Snapshot.AuditRules watching the dockerd binary (or a
// directory above it): /usr/bin/dockerd in the benchmark, wherever the host
// really keeps it (Snapshot.Located: Debian's /usr/sbin/dockerd); not
// applicable when there is no dockerd on the host.
func init() {
	register(Control{ID: "1.1.3", Title: "Ensure auditing is configured for the Docker daemon", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceAudit},
		Remediation: "Add an audit watch on the dockerd binary the evidence names (/usr/bin/dockerd; /usr/sbin/dockerd on Debian), e.g. `-w /usr/bin/dockerd -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditDockerd})
}

func checkAuditDockerd(s *Snapshot) Result {
	return hostAuditCheck(s, "/usr/bin/dockerd", false)
}
