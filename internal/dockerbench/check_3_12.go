package dockerbench

// 3.12 Ensure that the Docker server certificate file permissions are set to 444 or more restrictively (Automated, Level 1).
// A writable server certificate can be swapped for one an attacker holds the key of. Audit: mode of the tlscert file, 444 or more restrictive.
func init() {
	register(Control{ID: "3.12", Title: "Ensure that the Docker server certificate file permissions are set to 444 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Make the server certificate named by --tlscert read-only: `chmod 444 <file>`.", Check: checkTLSServerCertPerms})
}

func checkTLSServerCertPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	// When TLS is on without the option set we judge dockerd's default under
	// /root/.docker, which docker-bench-security does not look at.
	return filesTLSCheck(s, "tlscert", filesModeAtMost(0o444))
}
