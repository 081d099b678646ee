package dockerbench

// 3.15 Ensure that the Docker socket file ownership is set to root:docker (Automated, Level 1).
// Access to the Docker socket is root on the host; only root and the docker group may have it. Audit: owner of /var/run/docker.sock and of any unix socket given with -H/hosts.
func init() {
	register(Control{ID: "3.15", Title: "Ensure that the Docker socket file ownership is set to root:docker", Section: "Docker Daemon Configuration Files", Level: 1, Automated: true,
		Needs: []string{SourceFiles}, Remediation: "Give the socket to root and the docker group: `chown root:docker /var/run/docker.sock` (or set SocketUser/SocketGroup in docker.socket).", Check: checkDockerSockOwnership})
}

func checkDockerSockOwnership(s *Snapshot) Result {
	// Differs from docker-bench-security: it accepts only root:docker on
	// /var/run/docker.sock; we also accept root:root (stricter: no group access,
	// as dockerd does when there is no docker group) and also judge unix sockets
	// configured with -H / "hosts".
	paths := append([]string{filesDockerSock}, filesDaemonUnixSockets(s)...)
	return filesEvaluate(s, filesDedupe(paths), filesDockerSockOwner)
}
