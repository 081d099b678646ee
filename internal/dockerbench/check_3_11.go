package dockerbench

// 3.11 Ensure that Docker server certificate file ownership is set to root:root (Automated, Level 1).
// The server certificate is how clients recognise this daemon. Audit: owner of the tlscert file (dockerd's default when TLS is on and it is unset).
func init() {
	register(Control{ID: "3.11", Title: "Ensure that Docker server certificate file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Give the server certificate named by --tlscert to root: `chown root:root <file>`.", Check: checkTLSServerCertOwnership})
}

func checkTLSServerCertOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: when TLS is on without the option
	// set we judge dockerd's default under /root/.docker, which
	// docker-bench-security does not look at.
	return filesTLSCheck(s, "tlscert", filesOwnedByRoot)
}
