package dockerbench

// 3.14 Ensure that the Docker server certificate key file permissions are set to 400 (Automated, Level 1).
// Anyone who can read the server key can impersonate the daemon. Audit: mode of the tlskey file, 0400 (0000 is accepted too).
func init() {
	register(Control{ID: "3.14", Title: "Ensure that the Docker server certificate key file permissions are set to 400", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles, SourceDaemon}, Remediation: "Make the private key named by --tlskey readable by its owner only: `chmod 400 <file>`.", Check: checkTLSKeyPerms})
}

func checkTLSKeyPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it requires exactly 400; we also accept
	// 0000 (still unreadable to anyone but root). When TLS is on without --tlskey
	// we judge dockerd's default /root/.docker/key.pem.
	return filesTLSCheck(s, "tlskey", filesTLSKeyMode)
}
