package dockerbench

// 3.21 Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively (Automated, Level 2).
// Anyone who can write /etc/sysconfig/docker can change how dockerd starts on Red Hat-style hosts. Audit: mode of /etc/sysconfig/docker, 644 or more restrictive.
func init() {
	register(Control{ID: "3.21", Title: "Ensure that the /etc/sysconfig/docker file permissions are set to 644 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 2, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Let only root write the file: `chmod 644 /etc/sysconfig/docker`.", Check: checkEtcSysconfigDockerPerms})
}

func checkEtcSysconfigDockerPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	return filesEvaluate(s, []string{filesEtcSysconfig}, filesModeAtMost(0o644))
}
