package dockerbench

// 3.10 Ensure that TLS CA certificate file permissions are set to 444 or more restrictively (Automated, Level 1).
// A writable CA certificate lets a local user authorise their own client certificates. Audit: mode of the tlscacert file, 444 or more restrictive.
func init() {
	register(Control{ID: "3.10", Title: "Ensure that TLS CA certificate file permissions are set to 444 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Make the CA certificate named by --tlscacert read-only: `chmod 444 <file>`.", Check: checkTLSCACertPerms})
}

func checkTLSCACertPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	// When TLS is on without the option set we judge dockerd's default under
	// /root/.docker, which docker-bench-security does not look at.
	return filesTLSCheck(s, "tlscacert", filesModeAtMost(0o444))
}
