package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
)

// 5.20 Ensure mount propagation mode is not set to shared (Automated, Level 1).
// With shared propagation, mounts made inside the container show up on the
// host and the other way round. Audit: Mounts[].Propagation of each running
// container.
func init() {
	register(Control{ID: "5.20", Title: "Ensure mount propagation mode is not set to shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Mount volumes with private (default rprivate) or slave propagation; do not use shared or rshared.",
		Check:       checkSharedPropagation})
}

func checkSharedPropagation(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		var out []string
		for _, m := range c.Mounts {
			if m.Propagation == mount.PropagationShared || m.Propagation == mount.PropagationRShared {
				src := m.Source
				if src == "" {
					src = m.Name
				}
				out = append(out, fmt.Sprintf("mount %s at %s has Propagation=%s", src, m.Destination, m.Propagation))
			}
		}
		return out
	})
}
