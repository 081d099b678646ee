package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.13 Ensure that the container's root filesystem is mounted as read only (Automated, Level 1).
// A read-only root filesystem stops an intruder from altering the
// container's binaries and configuration; writable data goes to volumes.
// Audit: HostConfig.ReadonlyRootfs of each running container.
func init() {
	register(Control{ID: "5.13", Title: "Ensure that the container's root filesystem is mounted as read only", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Start containers with --read-only and give them volumes or --tmpfs mounts for the paths they must write.",
		Check:       checkReadonlyRootfs})
}

func checkReadonlyRootfs(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if !hc.ReadonlyRootfs {
			return []string{"HostConfig.ReadonlyRootfs=false"}
		}
		return nil
	})
}
