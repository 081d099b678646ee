package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.2 Ensure that, if applicable, an AppArmor Profile is enabled (Automated, Level 1).
// An AppArmor profile confines what a container's processes may access on
// the host. Audit: each running container's AppArmorProfile, where the
// engine reports AppArmor support (docker info SecurityOptions name=apparmor).
func init() {
	register(Control{ID: "5.2", Title: "Ensure that, if applicable, an AppArmor Profile is enabled", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceEngine, SourceContainers},
		Remediation: "Run containers under Docker's default AppArmor profile (docker-default) or a custom one with --security-opt apparmor=<profile>; never apparmor=unconfined.",
		Check:       checkAppArmorProfile})
}

// Differs from docker-bench-security: it warns about every container when
// the host has no AppArmor at all (the profile is then always empty); we
// report NotApplicable when docker info lacks name=apparmor.
func checkAppArmorProfile(s *Snapshot) Result {
	if len(ctrRunning(s)) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	if s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"docker info: not available, cannot tell whether AppArmor is in use"}}
	}
	if !ctrHostHasSecurityOption(s, "apparmor") {
		return Result{Status: NotApplicable, Evidence: []string{"docker info: SecurityOptions lacks name=apparmor (AppArmor not available on this host)"}}
	}
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		switch c.AppArmorProfile {
		case "":
			return []string{"AppArmorProfile is empty"}
		case "unconfined":
			return []string{"AppArmorProfile=unconfined"}
		}
		return nil
	})
}
