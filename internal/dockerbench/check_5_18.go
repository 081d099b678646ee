package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.18 Ensure that host devices are not directly exposed to containers (Manual, Level 1).
// A host device in a container (disk, tty, GPU) can be read or written
// around the kernel's usual file permissions. Audit: HostConfig.Devices and
// DeviceRequests of each running container, for a human to judge.
func init() {
	register(Control{ID: "5.18", Title: "Ensure that host devices are not directly exposed to containers", Section: "Container Runtime", Level: 1, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Map host devices into containers only when needed, and then with the narrowest permissions (--device /dev/x:/dev/x:r).",
		Check:       checkHostDevices})
}

func checkHostDevices(s *Snapshot) Result {
	return ctrList(s, "no running container has host devices mapped", func(_ container.InspectResponse, hc *container.HostConfig) []string {
		var out []string
		if hc.Privileged {
			out = append(out, "privileged: every host device is accessible")
		}
		for _, d := range hc.Devices {
			out = append(out, fmt.Sprintf("device %s mapped at %s (permissions %q)", d.PathOnHost, d.PathInContainer, d.CgroupPermissions))
		}
		for _, r := range hc.DeviceRequests {
			what := r.Driver
			if len(r.DeviceIDs) > 0 {
				what += " ids " + strings.Join(r.DeviceIDs, ",")
			} else if r.Count != 0 {
				what += fmt.Sprintf(" count %d", r.Count)
			}
			out = append(out, "device request "+strings.TrimSpace(what))
		}
		return out
	})
}
