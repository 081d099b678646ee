package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
)

// 5.25 Ensure that cgroup usage is confirmed (Automated, Level 1).
// A container placed under a custom parent cgroup escapes the limits and
// accounting Docker sets up for it. Audit: HostConfig.CgroupParent of each
// running container.
func init() {
	register(Control{ID: "5.25", Title: "Ensure that cgroup usage is confirmed", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not use --cgroup-parent unless required; where it is, confirm the parent cgroup carries the intended limits.",
		Check:       checkCgroupParent})
}

func checkCgroupParent(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.CgroupParent != "" {
			return []string{fmt.Sprintf("HostConfig.CgroupParent=%q (confirm this cgroup is intended)", hc.CgroupParent)}
		}
		return nil
	})
}
