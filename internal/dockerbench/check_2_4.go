package dockerbench

// 2.4 Ensure Docker is allowed to make changes to iptables (Automated, Level 1).
// Rationale: dockerd keeps the firewall in step with the networks and
// published ports it creates; hand-kept rules drift. Audit: the iptables
// daemon option is not false.
func init() {
	register(Control{ID: "2.4", Title: "Ensure Docker is allowed to make changes to iptables", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Remove "iptables": false from /etc/docker/daemon.json and --iptables=false from the dockerd command line, then restart dockerd.`,
		Check:       checkDaemonIptables})
}

func checkDaemonIptables(s *Snapshot) Result {
	return hostBoolOptCheck(s, "iptables", true, true)
}
