package dockerbench

// 3.1 Ensure that the docker.service file ownership is set to root:root (Automated, Level 1).
// Whoever owns the unit file decides how dockerd starts (flags, environment). Audit: owner of the docker.service unit file systemd loads.
func init() {
	register(Control{ID: "3.1", Title: "Ensure that the docker.service file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Find the unit file with `systemctl show -p FragmentPath docker.service` and give it to root with `chown root:root <file>`.", Check: checkDockerServiceOwnership})
}

func checkDockerServiceOwnership(s *Snapshot) Result {
	paths, na := filesUnitPaths(s, "docker.service")
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesOwnedByRoot)
}
