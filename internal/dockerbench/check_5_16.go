package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.16 Ensure that the host's process namespace is not shared (Automated, Level 1).
// With the host's PID namespace a container sees, and as root can signal or
// trace, every process on the host.
// Audit: HostConfig.PidMode of each running container.
func init() {
	register(Control{ID: "5.16", Title: "Ensure that the host's process namespace is not shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not start containers with --pid host; let each container keep its own namespace.",
		Check:       checkHostPID})
}

func checkHostPID(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.PidMode.IsHost() {
			return []string{"HostConfig.PidMode=host"}
		}
		return nil
	})
}
