package dockerbench

// 2.1 Run the Docker daemon as a non-root user, if possible (Manual, Level 1).
// Rationale: rootless mode confines a daemon or container escape to an
// unprivileged user. Audit: manual; Info.SecurityOptions says whether the
// daemon runs rootless (name=rootless).
func init() {
	register(Control{ID: "2.1", Title: "Run the Docker daemon as a non-root user, if possible", Section: "Docker Daemon Configuration", Level: 1, Automated: false,
		Remediation: "Where its limitations are acceptable, run Docker in rootless mode (dockerd-rootless-setuptool.sh install) under a dedicated unprivileged user.",
		Check:       checkDaemonRootless})
}

func checkDaemonRootless(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Info, Evidence: []string{"daemon user unknown (engine info not collected)"}}
	}
	if o, ok := hostSecurityOption(s, "rootless"); ok {
		return Result{Status: Info, Evidence: []string{"daemon runs rootless (Info.SecurityOptions: " + o + ")"}}
	}
	return Result{Status: Info, Evidence: []string{"daemon runs as root (no name=rootless in Info.SecurityOptions)"}}
}
