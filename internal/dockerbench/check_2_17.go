package dockerbench

// 2.17 Ensure that a daemon-wide custom seccomp profile is applied if appropriate (Manual, Level 2).
// Rationale: the default seccomp profile blocks ~44 syscalls; some sites
// need a stricter or adjusted one. Audit: manual; we show the engine's
// seccomp security option and the seccomp-profile daemon option.
func init() {
	register(Control{ID: "2.17", Title: "Ensure that a daemon-wide custom seccomp profile is applied if appropriate", Section: "Docker Daemon Configuration", Level: 2, Automated: false,
		Needs:       []string{SourceDaemon},
		Remediation: `If Docker's default seccomp profile doesn't fit your policy, write a custom one and set "seccomp-profile": "/path/profile.json" in /etc/docker/daemon.json; never set it to "unconfined".`,
		Check:       checkDaemonSeccompProfile})
}

func checkDaemonSeccompProfile(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	var ev []string
	switch o, ok := hostSecurityOption(s, "seccomp"); {
	case ok:
		ev = append(ev, "Info.SecurityOptions: "+o)
	case s.Info != nil:
		ev = append(ev, "Info.SecurityOptions has no name=seccomp: seccomp is not in use")
	}
	if v, ok := hostOptLast(s, "seccomp-profile"); ok && v != "" {
		ev = append(ev, hostOptEvidence(s, "seccomp-profile", v))
	} else {
		ev = append(ev, hostOptNotSet(s, "seccomp-profile", "Docker's built-in profile"))
	}
	return Result{Status: Info, Evidence: ev}
}
