package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.8 Ensure privileged ports are not mapped within containers (Automated, Level 1).
// Host ports below 1024 are reserved for privileged services; publishing a
// container on one lets it pose as one. Audit: the host ports each running
// container is published on (NetworkSettings.Ports).
func init() {
	register(Control{ID: "5.8", Title: "Ensure privileged ports are not mapped within containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Publish containers on host ports 1024 and above (-p 8080:80), and put a reverse proxy or load balancer in front when a well-known port is needed.",
		Check:       checkPrivilegedPorts})
}

// Differs from docker-bench-security: it flags host ports below 1025, so
// 1024 too; privileged ports are those below 1024.
func checkPrivilegedPorts(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		pm := ctrPublished(c)
		var out []string
		for _, p := range ctrPorts(pm) {
			var addrs []string
			for _, b := range pm[p] {
				if n, ok := ctrHostPort(b); ok && n < 1024 {
					addrs = append(addrs, ctrBindingAddr(b))
				}
			}
			if len(addrs) > 0 {
				out = append(out, fmt.Sprintf("%s published on privileged host port %s", p, strings.Join(addrs, ", ")))
			}
		}
		return out
	})
}
