package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.14 Ensure that incoming container traffic is bound to a specific host interface (Automated, Level 1).
// A port published on the wildcard address is reachable on every host
// interface, including public ones. Audit: the host address of each port
// binding of each running container (NetworkSettings.Ports).
func init() {
	register(Control{ID: "5.14", Title: "Ensure that incoming container traffic is bound to a specific host interface", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Publish ports on a specific host address, e.g. -p 10.0.0.5:8080:80 or -p 127.0.0.1:8080:80, not on all interfaces.",
		Check:       checkWildcardBinding})
}

// Differs from docker-bench-security: it only flags 0.0.0.0 and misses the
// IPv6 wildcard [::] and bindings without a host address; we flag all three.
func checkWildcardBinding(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		pm := ctrPublished(c)
		var out []string
		for _, p := range ctrPorts(pm) {
			var addrs []string
			for _, b := range pm[p] {
				if !b.HostIP.IsValid() || b.HostIP.IsUnspecified() {
					addrs = append(addrs, ctrBindingAddr(b))
				}
			}
			if len(addrs) > 0 {
				out = append(out, fmt.Sprintf("%s published on all host interfaces (%s)", p, strings.Join(addrs, ", ")))
			}
		}
		return out
	})
}
