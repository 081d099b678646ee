package dockerbench

// 3.4 Ensure that docker.socket file permissions are set to 644 or more restrictive (Automated, Level 1).
// Whoever can write the socket unit can open the Docker API to more users. Audit: mode of the docker.socket unit file, 644 or more restrictive.
func init() {
	register(Control{ID: "3.4", Title: "Ensure that docker.socket file permissions are set to 644 or more restrictive", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Find the unit file with `systemctl show -p FragmentPath docker.socket` and make it writable by root only with `chmod 644 <file>`.", Check: checkDockerSocketUnitPerms})
}

func checkDockerSocketUnitPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	paths, na := filesUnitPaths(s, "docker.socket")
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesModeAtMost(0o644))
}
