package dockerbench

import (
	"github.com/moby/moby/api/types/container"
)

// 5.30 Ensure that Docker's default bridge 'docker0' is not used (Manual, Level 2).
// Containers on the default bridge can reach each other without
// restriction (and ARP-spoof one another); user-defined networks isolate
// them. Audit: running containers attached to the default "bridge"
// network, for a human to judge.
func init() {
	register(Control{ID: "5.30", Title: "Ensure that Docker's default bridge 'docker0' is not used", Section: "Container Runtime", Level: 2, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Create user-defined networks (docker network create) and attach containers to them instead of the default bridge.",
		Check:       checkDefaultBridge})
}

func checkDefaultBridge(s *Snapshot) Result {
	bridge := ctrDefaultBridgeName(s)
	return ctrList(s, "no running container is on the default bridge network", func(c container.InspectResponse, hc *container.HostConfig) []string {
		if c.NetworkSettings != nil {
			if _, ok := c.NetworkSettings.Networks[bridge]; ok {
				return []string{"attached to the default bridge network (" + bridge + ", docker0)"}
			}
			if len(c.NetworkSettings.Networks) > 0 {
				return nil
			}
		}
		if hc.NetworkMode.IsDefault() || hc.NetworkMode.IsBridge() {
			return []string{"HostConfig.NetworkMode=" + string(hc.NetworkMode) + " (default bridge network, docker0)"}
		}
		return nil
	})
}

// ctrDefaultBridgeName is the name of the network on docker0 ("bridge").
func ctrDefaultBridgeName(s *Snapshot) string {
	if s != nil {
		for _, n := range s.Networks {
			if n.Options["com.docker.network.bridge.default_bridge"] == "true" || n.Options["com.docker.network.bridge.name"] == "docker0" {
				if n.Name != "" {
					return n.Name
				}
			}
		}
	}
	return "bridge"
}
