package dockerbench

import (
	"strings"

	"github.com/moby/moby/api/types/container"
)

// 5.3 Ensure that, if applicable, SELinux security options are set (Automated, Level 2).
// SELinux labels add mandatory access control between containers and the
// host. Audit: label options in each running container's
// HostConfig.SecurityOpt, where the engine runs with SELinux support.
func init() {
	register(Control{ID: "5.3", Title: "Ensure that, if applicable, SELinux security options are set", Section: "Container Runtime", Level: 2, Automated: true,
		Needs:       []string{SourceEngine, SourceContainers},
		Remediation: "Run dockerd with --selinux-enabled and start containers with explicit labels, e.g. --security-opt label=level:s0:c100,c200; never label=disable.",
		Check:       checkSELinuxOptions})
}

// Differs from docker-bench-security: it accepts any security option (a
// container with only no-new-privileges passes) and ignores whether SELinux
// is in use; we require a label option and report NotApplicable when docker
// info lacks name=selinux.
func checkSELinuxOptions(s *Snapshot) Result {
	if len(ctrRunning(s)) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	if s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"docker info: not available, cannot tell whether SELinux is in use"}}
	}
	if !ctrHostHasSecurityOption(s, "selinux") {
		return Result{Status: NotApplicable, Evidence: []string{"docker info: SecurityOptions lacks name=selinux (dockerd runs without SELinux support)"}}
	}
	return ctrEach(s, func(c container.InspectResponse, hc *container.HostConfig) []string {
		var labels []string
		for _, o := range hc.SecurityOpt {
			k, v := ctrSecurityOpt(o)
			if k != "label" {
				continue
			}
			if v == "disable" {
				return []string{"HostConfig.SecurityOpt has " + o + " (SELinux separation disabled)"}
			}
			labels = append(labels, o)
		}
		if len(labels) == 0 {
			if hc.Privileged {
				return []string{"HostConfig.SecurityOpt has no label option (privileged: SELinux separation off)"}
			}
			return []string{"HostConfig.SecurityOpt has no label option [" + strings.Join(hc.SecurityOpt, " ") + "]"}
		}
		return nil
	})
}
