package dockerbench

// 3.23 Ensure that the Containerd socket file ownership is set to root:root (Automated, Level 1).
// The containerd socket controls every container without Docker's checks. Audit: owner of /run/containerd/containerd.sock.
func init() {
	register(Control{ID: "3.23", Title: "Ensure that the Containerd socket file ownership is set to root:root", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the containerd socket to root: `chown root:root /run/containerd/containerd.sock`.", Check: checkContainerdSockOwnership})
}

func checkContainerdSockOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares user and group names; we
	// compare numeric ids (uid 0, gid 0), which don't depend on name resolution.
	return filesEvaluate(s, []string{filesContainerdSock}, filesOwnedByRoot)
}
