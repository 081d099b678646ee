package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.19 Ensure that the default ulimit is overwritten at runtime if needed (Manual, Level 1).
// The daemon's default ulimits apply to every container; a container should
// override them only where it needs to. Audit: HostConfig.Ulimits of each
// running container, for a human to judge.
func init() {
	register(Control{ID: "5.19", Title: "Ensure that the default ulimit is overwritten at runtime if needed", Section: "Container Runtime", Level: 1, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Rely on the daemon's default ulimits (--default-ulimit) and override them with --ulimit only for containers that need different limits.",
		Check:       checkUlimits})
}

func checkUlimits(s *Snapshot) Result {
	return ctrList(s, "", func(_ container.InspectResponse, hc *container.HostConfig) []string {
		var parts []string
		for _, u := range hc.Ulimits {
			if u != nil {
				parts = append(parts, fmt.Sprintf("%s=%d:%d", u.Name, u.Soft, u.Hard))
			}
		}
		if len(parts) == 0 {
			return []string{"no ulimit override (daemon defaults apply)"}
		}
		return []string{"HostConfig.Ulimits overrides " + strings.Join(parts, ", ")}
	})
}
