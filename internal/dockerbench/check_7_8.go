package dockerbench

import "fmt"

// 7.8 Ensure that CA certificates are rotated as appropriate (Manual, Level 1).
// The swarm root CA signs every node certificate; rotating it limits the
// damage of a leaked CA key. Audit: how often the root CA was rotated
// (Spec.CAConfig.ForceRotate counts `docker swarm ca --rotate`) and since
// when the swarm exists.
func init() {
	register(Control{ID: "7.8", Title: "Ensure that CA certificates are rotated as appropriate", Section: "Docker Swarm Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine, SourceSwarm},
		Remediation: "Rotate the swarm root CA on a schedule that fits your policy with docker swarm ca --rotate, and record each rotation.",
		Check:       checkSwarmCARotation})
}

func checkSwarmCARotation(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw, ok := swarmManagerForBench(s)
	if !ok {
		return Result{Status: Info, Evidence: []string{notManagerEvidenceForBench}}
	}
	ev := []string{fmt.Sprintf("swarm: Spec.CAConfig.ForceRotate=%d (root CA rotations with docker swarm ca --rotate)", sw.Spec.CAConfig.ForceRotate)}
	if !sw.CreatedAt.IsZero() {
		ev = append(ev, "swarm created at "+sw.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if sw.RootRotationInProgress {
		ev = append(ev, "a root CA rotation is in progress")
	}
	if n := len(sw.Spec.CAConfig.ExternalCAs); n > 0 {
		ev = append(ev, fmt.Sprintf("%d external CAs sign node certificates: rotate them with their own tooling", n))
	}
	return Result{Status: Info, Evidence: ev}
}
