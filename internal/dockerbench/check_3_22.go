package dockerbench

// 3.22 Ensure that the /etc/sysconfig/docker file ownership is set to root:root (Automated, Level 2).
// /etc/sysconfig/docker feeds options and environment to dockerd on Red Hat-style hosts. Audit: owner of /etc/sysconfig/docker.
func init() {
	register(Control{ID: "3.22", Title: "Ensure that the /etc/sysconfig/docker file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the file to root: `chown root:root /etc/sysconfig/docker`.", Check: checkEtcSysconfigDockerOwnership})
}

func checkEtcSysconfigDockerOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares user and group names; we
	// compare numeric ids (uid 0, gid 0), which don't depend on name resolution.
	return filesEvaluate(s, []string{filesEtcSysconfig}, filesOwnedByRoot)
}
