package dockerbench

// 3.2 Ensure that docker.service file permissions are appropriately set (Automated, Level 1).
// A unit file others can write lets them change how dockerd, a root process, starts. Audit: mode of the docker.service unit file, 644 or more restrictive.
func init() {
	register(Control{ID: "3.2", Title: "Ensure that docker.service file permissions are appropriately set", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Find the unit file with `systemctl show -p FragmentPath docker.service` and make it writable by root only with `chmod 644 <file>`.", Check: checkDockerServicePerms})
}

func checkDockerServicePerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	paths, na := filesUnitPaths(s, "docker.service")
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesModeAtMost(0o644))
}
