package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.21 Ensure that the host's UTS namespace is not shared (Automated, Level 1).
// With the host's UTS namespace a container can change the host's hostname
// and domain name.
// Audit: HostConfig.UTSMode of each running container.
func init() {
	register(Control{ID: "5.21", Title: "Ensure that the host's UTS namespace is not shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not start containers with --uts host; let each container keep its own namespace.",
		Check:       checkHostUTS})
}

func checkHostUTS(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.UTSMode.IsHost() {
			return []string{"HostConfig.UTSMode=host"}
		}
		return nil
	})
}
