package dockerbench

// 3.3 Ensure that docker.socket file ownership is set to root:root (Automated, Level 1).
// The socket unit sets who may reach the Docker API socket. Audit: owner of the docker.socket unit file systemd loads.
func init() {
	register(Control{ID: "3.3", Title: "Ensure that docker.socket file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Find the unit file with `systemctl show -p FragmentPath docker.socket` and give it to root with `chown root:root <file>`.", Check: checkDockerSocketUnitOwnership})
}

func checkDockerSocketUnitOwnership(s *Snapshot) Result {
	paths, na := filesUnitPaths(s, "docker.socket")
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesOwnedByRoot)
}
