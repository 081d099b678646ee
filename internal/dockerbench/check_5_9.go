package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.9 Ensure that only needed ports are open on the container (Manual, Level 1).
// Each open port is attack surface; only those the application serves
// should be exposed or published. Audit: the ports of each running
// container and where they are published, for a human to judge.
func init() {
	register(Control{ID: "5.9", Title: "Ensure that only needed ports are open on the container", Section: "Container Runtime", Level: 1, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Expose in the Dockerfile and publish with -p only the ports the application serves; avoid -P (publish all).",
		Check:       checkOpenPorts})
}

func checkOpenPorts(s *Snapshot) Result {
	return ctrList(s, "no running container exposes or publishes ports", func(c container.InspectResponse, _ *container.HostConfig) []string {
		pm := ctrPublished(c)
		var parts []string
		for _, p := range ctrPorts(pm) {
			if len(pm[p]) == 0 {
				parts = append(parts, fmt.Sprintf("%s (not published)", p))
				continue
			}
			var addrs []string
			for _, b := range pm[p] {
				addrs = append(addrs, ctrBindingAddr(b))
			}
			parts = append(parts, fmt.Sprintf("%s -> %s", p, strings.Join(addrs, ", ")))
		}
		if len(parts) == 0 {
			return nil
		}
		return []string{"ports " + strings.Join(parts, "; ")}
	})
}
