package dockerbench

// 3.5 Ensure that the /etc/docker directory ownership is set to root:root (Automated, Level 1).
// /etc/docker holds daemon.json and TLS material; its owner can replace them. Audit: owner of /etc/docker.
func init() {
	register(Control{ID: "3.5", Title: "Ensure that the /etc/docker directory ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the directory to root: `chown root:root /etc/docker`.", Check: checkEtcDockerOwnership})
}

func checkEtcDockerOwnership(s *Snapshot) Result {
	return filesEvaluate(s, []string{filesEtcDocker}, filesOwnedByRoot)
}
