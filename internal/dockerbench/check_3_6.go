package dockerbench

// 3.6 Ensure that /etc/docker directory permissions are set to 755 or more restrictively (Automated, Level 1).
// Anyone who can write /etc/docker can swap the daemon's configuration and certificates. Audit: mode of /etc/docker, 755 or more restrictive.
func init() {
	register(Control{ID: "3.6", Title: "Ensure that /etc/docker directory permissions are set to 755 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Let only root write to the directory: `chmod 755 /etc/docker`.", Check: checkEtcDockerPerms})
}

func checkEtcDockerPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	return filesEvaluate(s, []string{filesEtcDocker}, filesModeAtMost(0o755))
}
