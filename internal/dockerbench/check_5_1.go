package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/swarm"
)

// 5.1 Ensure swarm mode is not Enabled, if not needed (Automated, Level 1).
// Swarm mode opens management ports and starts services that enlarge the
// host's attack surface. Audit: docker info Swarm.LocalNodeState.
func init() {
	register(Control{ID: "5.1", Title: "Ensure swarm mode is not Enabled, if not needed", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: "If this host is not meant to be part of a swarm, leave it with `docker swarm leave` (add --force on a manager).",
		Check:       checkSwarmModeDisabled})
}

func checkSwarmModeDisabled(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"docker info: not available"}}
	}
	st := s.Info.Swarm.LocalNodeState
	switch st {
	case swarm.LocalNodeStateInactive:
		return Result{Status: Pass, Evidence: []string{"docker info: Swarm.LocalNodeState=inactive"}}
	case "":
		return Result{Status: Warn, Evidence: []string{"docker info: Swarm.LocalNodeState not reported"}}
	}
	return Result{Status: Fail, Evidence: []string{fmt.Sprintf("docker info: Swarm.LocalNodeState=%s (swarm mode enabled; leave the swarm unless this node needs it)", st)}}
}
