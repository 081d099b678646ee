package dockerbench

// 1.2.2 Ensure that the version of Docker is up to date (Manual, Level 1).
// Rationale: Docker releases fix security issues; old engines keep them.
// Audit: manual; we show the running engine version beside the newest one
// the user told us about (--known-docker-version), if any.
// Differs from docker-bench-security: it guesses "current" from today's
// date (YY.MM.0 a month ago); we use no clock and no guess.
func init() {
	register(Control{ID: "1.2.2", Title: "Ensure that the version of Docker is up to date", Section: "Host Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine},
		Remediation: "Follow Docker's release notes and your OS vendor's security updates, and upgrade the engine after testing the new version.",
		Check:       checkHostDockerUpToDate})
}

func checkHostDockerUpToDate(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Info, Evidence: []string{"no snapshot"}}
	}
	running := ""
	switch {
	case s.Version != nil && s.Version.Version != "":
		running = s.Version.Version
	case s.Info != nil && s.Info.ServerVersion != "":
		running = s.Info.ServerVersion
	default:
		running = "unknown"
	}
	latest := s.KnownLatestDocker
	if latest == "" {
		latest = "not configured (--known-docker-version)"
	}
	return Result{Status: Info, Evidence: []string{"running " + running + "; newest known " + latest}}
}
