package dockerbench

// 3.18 Ensure that daemon.json file permissions are set to 644 or more restrictive (Automated, Level 2).
// Anyone who can write daemon.json can reconfigure the root daemon. Audit: mode of /etc/docker/daemon.json, 644 or more restrictive.
func init() {
	register(Control{ID: "3.18", Title: "Ensure that daemon.json file permissions are set to 644 or more restrictive", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Let only root write daemon.json: `chmod 644 /etc/docker/daemon.json`.", Check: checkDaemonJSONPerms})
}

func checkDaemonJSONPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	return filesEvaluate(s, []string{filesDaemonJSON}, filesModeAtMost(0o644))
}
