package dockerbench

// 3.17 Ensure that the daemon.json file ownership is set to root:root (Automated, Level 2).
// daemon.json configures the root daemon; its owner controls it. Audit: owner of /etc/docker/daemon.json.
func init() {
	register(Control{ID: "3.17", Title: "Ensure that the daemon.json file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give daemon.json to root: `chown root:root /etc/docker/daemon.json`.", Check: checkDaemonJSONOwnership})
}

func checkDaemonJSONOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares user and group names; we
	// compare numeric ids (uid 0, gid 0), which don't depend on name resolution.
	return filesEvaluate(s, []string{filesDaemonJSON}, filesOwnedByRoot)
}
