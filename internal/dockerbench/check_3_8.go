package dockerbench

// 3.8 Ensure that registry certificate file permissions are set to 444 or more restrictively (Automated, Level 1).
// A writable registry certificate lets a local user make the daemon trust a rogue registry. Audit: mode of every file under /etc/docker/certs.d, 444 or more restrictive.
func init() {
	register(Control{ID: "3.8", Title: "Ensure that registry certificate file permissions are set to 444 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Make the registry certificates read-only: `chmod 444 /etc/docker/certs.d/<registry>/*` (client keys may be stricter, 400).", Check: checkRegistryCertPerms})
}

func checkRegistryCertPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it looks only at *.crt files and
	// compares modes as decimal numbers; we judge every file there (*.crt, *.cert,
	// *.key) and compare permission bits (0440 passes, 0445 fails, setuid fails).
	paths, na := filesCertsDirFiles(s)
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesModeAtMost(0o444))
}
