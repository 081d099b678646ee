package dockerbench

import (
	"fmt"
	"path"

	"github.com/moby/moby/api/types/container"
)

// 5.32 Ensure that the Docker socket is not mounted inside any containers (Automated, Level 1).
// Whoever can talk to the Docker socket controls the engine and so the host:
// a container with docker.sock mounted can start a privileged container.
// Audit: mounts of each running container whose host source is a
// docker.sock.
func init() {
	register(Control{ID: "5.32", Title: "Ensure that the Docker socket is not mounted inside any containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not mount /var/run/docker.sock (or any docker.sock) into containers; tools that need the API should use a restricted proxy or run on the host.",
		Check:       checkDockerSockMount})
}

// Differs from docker-bench-security: it greps "docker.sock" anywhere in
// the mounts (destination too); we look at the host source, so a socket
// mounted under another name inside the container is caught and an
// unrelated destination path is not.
func checkDockerSockMount(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		var out []string
		for _, m := range c.Mounts {
			if m.Source != "" && path.Base(m.Source) == "docker.sock" {
				mode := "read-only"
				if m.RW {
					mode = "read-write"
				}
				out = append(out, fmt.Sprintf("%s mounted at %s (%s)", m.Source, m.Destination, mode))
			}
		}
		return out
	})
}
