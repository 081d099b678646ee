package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.31 Ensure that the host's user namespaces are not shared (Automated, Level 1).
// With the host's user namespace (--userns host, overriding the daemon's
// userns-remap) root in the container is root on the host.
// Audit: HostConfig.UsernsMode of each running container.
func init() {
	register(Control{ID: "5.31", Title: "Ensure that the host's user namespaces are not shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not start containers with --userns host; let each container keep its own namespace.",
		Check:       checkHostUserns})
}

func checkHostUserns(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.UsernsMode.IsHost() {
			return []string{"HostConfig.UsernsMode=host"}
		}
		return nil
	})
}
