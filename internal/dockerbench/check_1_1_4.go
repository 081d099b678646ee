package dockerbench

// 1.1.4 Ensure auditing is configured for Docker files and directories - /run/containerd (Automated, Level 1).
// Rationale: containerd's runtime state and sockets live here.
// Audit: a rule in Snapshot.AuditRules watching containerd's state directory
// (or a directory above it): /run/containerd in the benchmark, wherever the
// running containerd keeps it (Snapshot.Located: a dockerd-managed
// containerd's is under /run/docker/containerd); not applicable when there
// is none.
func init() {
	register(Control{ID: "1.1.4", Title: "Ensure auditing is configured for Docker files and directories - /run/containerd", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceAudit},
		Remediation: "Add an audit watch on containerd's state directory the evidence names (/run/containerd by default), e.g. `-w /run/containerd -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditRunContainerd})
}

func checkAuditRunContainerd(s *Snapshot) Result {
	return hostAuditCheck(s, "/run/containerd", false)
}
