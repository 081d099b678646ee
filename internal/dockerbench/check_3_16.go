package dockerbench

// 3.16 Ensure that the Docker socket file permissions are set to 660 or more restrictively (Automated, Level 1).
// A world-accessible Docker socket gives every local user root. Audit: mode of /var/run/docker.sock and of any unix socket given with -H/hosts, 660 or more restrictive.
func init() {
	register(Control{ID: "3.16", Title: "Ensure that the Docker socket file permissions are set to 660 or more restrictively", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Limit the socket to its owner and group: `chmod 660 /var/run/docker.sock` (or SocketMode=0660 in docker.socket).", Check: checkDockerSockPerms})
}

func checkDockerSockPerms(s *Snapshot) Result {
	// Differs from docker-bench-security: it compares modes as decimal numbers
	// (so 0607 passes there); we compare permission bits. We also judge unix
	// sockets configured with -H / "hosts", not only /var/run/docker.sock.
	paths := append([]string{filesDockerSock}, filesDaemonUnixSockets(s)...)
	return filesEvaluate(s, filesDedupe(paths), filesModeAtMost(0o660))
}
