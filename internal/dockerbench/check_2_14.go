package dockerbench

// 2.14 Ensure containers are restricted from acquiring new privileges (Automated, Level 1).
// Rationale: no_new_privs stops setuid binaries and file capabilities from
// raising a container process's privileges. Audit: the no-new-privileges
// daemon option is true (the default for every container).
func init() {
	register(Control{ID: "2.14", Title: "Ensure containers are restricted from acquiring new privileges", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Set "no-new-privileges": true in /etc/docker/daemon.json (or dockerd --no-new-privileges) and restart dockerd; containers that truly need setuid can opt out individually.`,
		Check:       checkDaemonNoNewPrivileges})
}

func checkDaemonNoNewPrivileges(s *Snapshot) Result {
	return hostBoolOptCheck(s, "no-new-privileges", true, false)
}
