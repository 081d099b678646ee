package dockerbench

// 2.18 Ensure that experimental features are not implemented in production (Automated, Level 1).
// Rationale: experimental features are unstable and not security-reviewed
// like stable ones. Audit: Info.ExperimentalBuild is false.
// Differs from docker-bench-security: for engines after 19.03 it only
// prints INFO "(Deprecated)"; Info.ExperimentalBuild still reports
// --experimental / "experimental": true, so we keep judging it.
func init() {
	register(Control{ID: "2.18", Title: "Ensure that experimental features are not implemented in production", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: `Remove "experimental": true from /etc/docker/daemon.json and --experimental from the dockerd command line on production hosts, then restart dockerd.`,
		Check:       checkDaemonExperimental})
}

func checkDaemonExperimental(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"engine info not collected"}}
	}
	if s.Info.ExperimentalBuild {
		return Result{Status: Fail, Evidence: []string{"Info.ExperimentalBuild=true"}}
	}
	return Result{Status: Pass, Evidence: []string{"Info.ExperimentalBuild=false"}}
}
