package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
)

// 5.29 Ensure that the PIDs cgroup limit is used (Automated, Level 1).
// Without a PIDs limit a fork bomb in one container can exhaust the host's
// process table. Audit: HostConfig.PidsLimit of each running container.
func init() {
	register(Control{ID: "5.29", Title: "Ensure that the PIDs cgroup limit is used", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Start containers with --pids-limit set to what they need (e.g. --pids-limit 100).",
		Check:       checkPidsLimit})
}

func checkPidsLimit(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		switch {
		case hc.PidsLimit == nil:
			return []string{"HostConfig.PidsLimit not set (unlimited)"}
		case *hc.PidsLimit <= 0:
			return []string{fmt.Sprintf("HostConfig.PidsLimit=%d (unlimited)", *hc.PidsLimit)}
		}
		return nil
	})
}
