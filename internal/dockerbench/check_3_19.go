package dockerbench

// 3.19 Ensure that the /etc/default/docker file ownership is set to root:root (Automated, Level 2).
// /etc/default/docker feeds options and environment to dockerd on Debian-style hosts. Audit: owner of /etc/default/docker.
func init() {
	register(Control{ID: "3.19", Title: "Ensure that the /etc/default/docker file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the file to root: `chown root:root /etc/default/docker`.", Check: checkEtcDefaultDockerOwnership})
}

func checkEtcDefaultDockerOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares user and group names; we
	// compare numeric ids (uid 0, gid 0), which don't depend on name resolution.
	return filesEvaluate(s, []string{filesEtcDefault}, filesOwnedByRoot)
}
