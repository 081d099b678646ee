package dockerbench

import (
	"fmt"
	"strings"
)

// 7.9 Ensure that management plane traffic is separated from data plane traffic (Manual, Level 1).
// Keeping control traffic on its own interface lets it be firewalled and
// keeps busy or hostile workloads from starving it. Audit: the node's
// management address; the data path address is not reported by the engine.
func init() {
	register(Control{ID: "7.9", Title: "Ensure that management plane traffic is separated from data plane traffic", Section: "Docker Swarm Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine},
		Remediation: "Give each node a management and a data interface and join the swarm with --advertise-addr on the first and --data-path-addr on the second.",
		Check:       checkSwarmPlaneSeparation})
}

func checkSwarmPlaneSeparation(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw := s.Info.Swarm
	ev := []string{fmt.Sprintf("node management address: %s", orUnknownForBench(sw.NodeAddr))}
	var mgrs []string
	for _, p := range sw.RemoteManagers {
		mgrs = append(mgrs, p.Addr)
	}
	if len(mgrs) > 0 {
		ev = append(ev, "manager addresses: "+strings.Join(mgrs, ", "))
	}
	if sw.Cluster != nil && sw.Cluster.DataPathPort != 0 {
		ev = append(ev, fmt.Sprintf("data path port: %d", sw.Cluster.DataPathPort))
	}
	ev = append(ev, "the data path address is not reported by the engine: check that nodes joined with --data-path-addr on a different interface")
	return Result{Status: Info, Evidence: ev}
}
