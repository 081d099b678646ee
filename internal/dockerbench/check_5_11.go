package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.11 Ensure that the memory usage for containers is limited (Automated, Level 1).
// Without a memory limit one container can exhaust host memory and starve
// the others (denial of service). Audit: HostConfig.Memory of each running
// container.
func init() {
	register(Control{ID: "5.11", Title: "Ensure that the memory usage for containers is limited", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Start containers with a memory limit sized to their needs, e.g. --memory 256m.",
		Check:       checkMemoryLimit})
}

func checkMemoryLimit(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.Memory <= 0 {
			return []string{"HostConfig.Memory=0 (no memory limit)"}
		}
		return nil
	})
}
