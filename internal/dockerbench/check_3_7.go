package dockerbench

// 3.7 Ensure that registry certificate file ownership is set to root:root (Automated, Level 1).
// Registry certificates decide which registries the daemon trusts; their owner can make it trust another. Audit: owner of every file under /etc/docker/certs.d.
func init() {
	register(Control{ID: "3.7", Title: "Ensure that registry certificate file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the registry certificates to root: `chown root:root /etc/docker/certs.d/<registry>/*`.", Check: checkRegistryCertOwnership})
}

func checkRegistryCertOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it looks only at *.crt files and only at
	// the owning user; we judge every file the daemon reads there (*.crt, *.cert,
	// *.key) and require group root too, as the control says root:root.
	paths, na := filesCertsDirFiles(s)
	if na != nil {
		return *na
	}
	return filesEvaluate(s, paths, filesOwnedByRoot)
}
