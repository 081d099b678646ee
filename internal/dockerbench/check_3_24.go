package dockerbench

// 3.24 Ensure that the Containerd socket file permissions are set to 660 or more restrictively (Automated, Level 1).
// Write access to the containerd socket is root on the host. Audit: mode of /run/containerd/containerd.sock, 660 or more restrictive.
func init() {
	register(Control{ID: "3.24", Title: "Ensure that the Containerd socket file permissions are set to 660 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Limit the containerd socket to root: `chmod 660 /run/containerd/containerd.sock`.", Check: checkContainerdSockPerms})
}

func checkContainerdSockPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares `stat -c %a` as a decimal
	// number, so e.g. 0555 or 0477 pass there; we compare permission bits (any
	// bit outside the allowed mask, or setuid/setgid/sticky, fails).
	return filesEvaluate(s, []string{filesContainerdSock}, filesModeAtMost(0o660))
}
