package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.10 Ensure that the host's network namespace is not shared (Automated, Level 1).
// With --network host a container sees every host interface and can bind
// or sniff host services. Audit: HostConfig.NetworkMode of each running
// container.
func init() {
	register(Control{ID: "5.10", Title: "Ensure that the host's network namespace is not shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not start containers with --network host; use a bridge or user-defined network and publish the ports needed.",
		Check:       checkHostNetwork})
}

func checkHostNetwork(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.NetworkMode.IsHost() {
			return []string{"HostConfig.NetworkMode=host"}
		}
		return nil
	})
}
