package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.5 Ensure that privileged containers are not used (Automated, Level 1).
// A privileged container gets every capability, all host devices and no
// LSM or seccomp confinement: root in it is root on the host. Audit:
// HostConfig.Privileged of each running container.
func init() {
	register(Control{ID: "5.5", Title: "Ensure that privileged containers are not used", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Run containers without --privileged; grant only the capabilities and devices they need with --cap-add and --device.",
		Check:       checkPrivileged})
}

func checkPrivileged(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.Privileged {
			return []string{"HostConfig.Privileged=true"}
		}
		return nil
	})
}
