package dockerbench

import "fmt"

// 2.2 Ensure network traffic is restricted between containers on the default bridge (Automated, Level 1).
// Rationale: with icc on, every container on docker0 can reach every other
// one's ports. Audit: the default bridge network's
// com.docker.network.bridge.enable_icc option (what the engine actually
// applies), else the "icc" daemon option.
// Differs from docker-bench-security: it reads only the icc flag/daemon.json
// key; we prefer the engine's view of the default bridge, which also
// catches a daemon.json edited without restarting dockerd.
func init() {
	register(Control{ID: "2.2", Title: "Ensure network traffic is restricted between containers on the default bridge", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Remediation: `Set "icc": false in /etc/docker/daemon.json (or dockerd --icc=false) and restart dockerd; let containers that must talk share a user-defined network.`,
		Check:       checkDaemonICC})
}

const hostICCOption = "com.docker.network.bridge.enable_icc"

func checkDaemonICC(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	if hostSourceOK(s, SourceNetworks) && len(s.Networks) > 0 {
		for _, n := range s.Networks {
			if n.Name != "bridge" && n.Options["com.docker.network.bridge.default_bridge"] != "true" {
				continue
			}
			v, set := n.Options[hostICCOption]
			switch {
			case set && v == "false":
				return Result{Status: Pass, Evidence: []string{fmt.Sprintf("network %s: %s=false", n.Name, hostICCOption)}}
			case set:
				return Result{Status: Fail, Evidence: []string{fmt.Sprintf("network %s: %s=%s", n.Name, hostICCOption, v)}}
			default:
				return Result{Status: Fail, Evidence: []string{fmt.Sprintf("network %s: %s not set (default true)", n.Name, hostICCOption)}}
			}
		}
		// No default bridge: icc has nothing to apply to when it is disabled.
		if b, ok := hostOptLast(s, "bridge"); ok && b == "none" {
			return Result{Status: NotApplicable, Evidence: []string{"default bridge disabled: " + hostOptEvidence(s, "bridge", b)}}
		}
	}
	if !hostSourceOK(s, SourceDaemon) {
		return hostUnavailable(s, SourceNetworks, SourceDaemon)
	}
	return hostBoolOptCheck(s, "icc", false, true)
}
