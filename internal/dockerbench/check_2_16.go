package dockerbench

// 2.16 Ensure Userland Proxy is Disabled (Automated, Level 1).
// Rationale: docker-proxy is one more root process per published port and
// an attack surface that hairpin NAT makes unnecessary. Audit: the
// userland-proxy daemon option is false (it defaults to true).
func init() {
	register(Control{ID: "2.16", Title: "Ensure Userland Proxy is Disabled", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Set "userland-proxy": false in /etc/docker/daemon.json (or dockerd --userland-proxy=false) and restart dockerd; check first that the kernel supports hairpin NAT.`,
		Check:       checkDaemonUserlandProxy})
}

func checkDaemonUserlandProxy(s *Snapshot) Result {
	return hostBoolOptCheck(s, "userland-proxy", false, true)
}
