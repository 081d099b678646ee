package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.17 Ensure that the host's IPC namespace is not shared (Automated, Level 1).
// With the host's IPC namespace a container can read and alter host shared
// memory segments, semaphores and message queues.
// Audit: HostConfig.IpcMode of each running container.
func init() {
	register(Control{ID: "5.17", Title: "Ensure that the host's IPC namespace is not shared", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not start containers with --ipc host; let each container keep its own namespace.",
		Check:       checkHostIPC})
}

func checkHostIPC(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.IpcMode.IsHost() {
			return []string{"HostConfig.IpcMode=host"}
		}
		return nil
	})
}
