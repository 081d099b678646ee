package dockerbench

import "fmt"

// 7.1 Ensure that the minimum number of manager nodes have been created in a swarm (Automated, Level 1).
// Every manager holds the cluster state and keys; more managers than fault
// tolerance needs only widens the attack surface. Audit: Swarm.Managers
// from docker info on a manager.
func init() {
	register(Control{ID: "7.1", Title: "Ensure that the minimum number of manager nodes have been created in a swarm", Section: "Docker Swarm Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: "Run an odd number of managers, no more than fault tolerance requires (1, 3 or 5; at most 7), and demote the others with docker node demote.",
		Check:       checkSwarmManagerCount})
}

// Differs from docker-bench-security: it counts nodes marked "Leader" in
// `docker node ls`, which is 1 on every healthy manager, so it always
// passes there. We fail an even number of managers (it tolerates no more
// failures than one manager less) and more than 7 (Docker's documented
// maximum); like docker-bench, a worker cannot tell (Warn).
func checkSwarmManagerCount(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw := s.Info.Swarm
	if !sw.ControlAvailable {
		return Result{Status: Warn, Evidence: []string{notManagerEvidenceForBench}}
	}
	m, n := sw.Managers, sw.Nodes
	switch {
	case m <= 0:
		return Result{Status: Warn, Evidence: []string{"docker info does not report the number of managers"}}
	case m > 7:
		return Result{Status: Fail, Evidence: []string{fmt.Sprintf("swarm has %d managers (of %d nodes): more than 7 managers slows consensus without adding useful fault tolerance", m, n)}}
	case m%2 == 0:
		return Result{Status: Fail, Evidence: []string{fmt.Sprintf("swarm has %d managers (of %d nodes): an even number tolerates no more manager failures than %d", m, n, m-1)}}
	}
	return Result{Status: Pass, Evidence: []string{fmt.Sprintf("swarm has %d managers (of %d nodes)", m, n)}}
}
