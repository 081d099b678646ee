package dockerbench

// 3.20 Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively (Automated, Level 2).
// Anyone who can write /etc/default/docker can change how dockerd starts. Audit: mode of /etc/default/docker, 644 or more restrictive.
func init() {
	register(Control{ID: "3.20", Title: "Ensure that the /etc/default/docker file permissions are set to 644 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Let only root write the file: `chmod 644 /etc/default/docker`.", Check: checkEtcDefaultDockerPerms})
}

func checkEtcDefaultDockerPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	return filesEvaluate(s, []string{filesEtcDefault}, filesModeAtMost(0o644))
}
