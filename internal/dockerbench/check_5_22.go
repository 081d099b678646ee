package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.22 Ensure the default seccomp profile is not Disabled (Automated, Level 1).
// The default seccomp profile blocks some 40 dangerous system calls; without
// it the whole kernel interface is open to the container. Audit:
// seccomp=unconfined in HostConfig.SecurityOpt of each running container.
func init() {
	register(Control{ID: "5.22", Title: "Ensure the default seccomp profile is not Disabled", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Drop --security-opt seccomp=unconfined; keep Docker's default seccomp profile, or pass a custom profile that allows only the extra calls needed.",
		Check:       checkSeccompUnconfined})
}

func checkSeccompUnconfined(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		for _, o := range hc.SecurityOpt {
			if k, v := ctrSecurityOpt(o); k == "seccomp" && v == "unconfined" {
				return []string{"HostConfig.SecurityOpt has " + o}
			}
		}
		return nil
	})
}
