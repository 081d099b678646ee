package dockerbench

// 2.9 Enable user namespace support (Automated, Level 2).
// Rationale: with userns-remap, root in a container is an unprivileged user
// on the host. Audit: Info.SecurityOptions lists name=userns (the engine's
// own view), else the userns-remap daemon option.
// Differs from docker-bench-security: it reads only userns-remap; we also
// pass a rootless daemon (name=rootless), where container root maps to the
// unprivileged user running dockerd.
func init() {
	register(Control{ID: "2.9", Title: "Enable user namespace support", Section: "Docker Daemon Configuration", Level: 2, Automated: true,
		Remediation: `Set "userns-remap": "default" (or a dedicated user) in /etc/docker/daemon.json, make sure /etc/subuid and /etc/subgid have ranges for it, and restart dockerd; existing images are pulled again under the remapped root.`,
		Check:       checkDaemonUsernsRemap})
}

func checkDaemonUsernsRemap(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	if s.Info != nil {
		if o, ok := hostSecurityOption(s, "userns"); ok {
			return Result{Status: Pass, Evidence: []string{"Info.SecurityOptions: " + o}}
		}
		if o, ok := hostSecurityOption(s, "rootless"); ok {
			return Result{Status: Pass, Evidence: []string{"daemon runs rootless (Info.SecurityOptions: " + o + ")"}}
		}
		return Result{Status: Fail, Evidence: []string{"Info.SecurityOptions has no name=userns: user namespace remapping is off"}}
	}
	if !hostSourceOK(s, SourceDaemon) {
		return hostUnavailable(s, SourceEngine, SourceDaemon)
	}
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	if v, ok := hostOptLast(s, "userns-remap"); ok && v != "" {
		return Result{Status: Pass, Evidence: []string{hostOptEvidence(s, "userns-remap", v)}}
	}
	return Result{Status: Fail, Evidence: []string{hostOptNotSet(s, "userns-remap", "")}}
}
