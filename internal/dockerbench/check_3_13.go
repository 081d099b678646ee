package dockerbench

// 3.13 Ensure that the Docker server certificate key file ownership is set to root:root (Automated, Level 1).
// The server's private key must be readable by root alone, so root must own it. Audit: owner of the tlskey file (dockerd's default when TLS is on and it is unset).
func init() {
	register(Control{ID: "3.13", Title: "Ensure that the Docker server certificate key file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Give the private key named by --tlskey to root: `chown root:root <file>`.", Check: checkTLSKeyOwnership})
}

func checkTLSKeyOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: when TLS is on without the option
	// set we judge dockerd's default under /root/.docker, which
	// docker-bench-security does not look at.
	return filesTLSCheck(s, "tlskey", filesOwnedByRoot)
}
