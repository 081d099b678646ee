package dockerbench

// 3.9 Ensure that TLS CA certificate file ownership is set to root:root (Automated, Level 1).
// The CA certificate decides which clients may talk to the daemon over TLS. Audit: owner of the tlscacert file (dockerd's default when TLS is on and it is unset).
func init() {
	register(Control{ID: "3.9", Title: "Ensure that TLS CA certificate file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Give the CA certificate named by --tlscacert to root: `chown root:root <file>`.", Check: checkTLSCACertOwnership})
}

func checkTLSCACertOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: when TLS is on without --tlscacert we
	// judge dockerd's default /root/.docker/ca.pem; it reports nothing found.
	return filesTLSCheck(s, "tlscacert", filesOwnedByRoot)
}
