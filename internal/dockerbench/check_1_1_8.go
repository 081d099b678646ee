package dockerbench

// 1.1.8 Ensure auditing is configured for Docker files and directories - containerd.sock (Automated, Level 2).
// Rationale: whoever can use the containerd socket controls every container.
// Audit: a rule in Snapshot.AuditRules watching the containerd socket
// (Info.Containerd.Address, else /run/containerd/containerd.sock); not
// applicable when it does not exist.
func init() {
	register(Control{ID: "1.1.8", Title: "Ensure auditing is configured for Docker files and directories - containerd.sock", Section: "Host Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceAudit, SourceFiles},
		Remediation: "Add an audit watch on /run/containerd/containerd.sock, e.g. `-w /run/containerd/containerd.sock -k docker` in /etc/audit/rules.d/docker.rules, then reload the rules (augenrules --load).",
		Check:       checkAuditContainerdSock})
}

func checkAuditContainerdSock(s *Snapshot) Result {
	return hostAuditCheck(s, hostContainerdSocketPath(s), true)
}
