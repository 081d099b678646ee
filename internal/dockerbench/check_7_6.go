package dockerbench

// 7.6 Ensure that the swarm manager auto-lock key is rotated periodically (Manual, Level 1).
// A leaked unlock key stays useful until it is rotated. Audit: whether
// auto-lock is on; rotation dates are not recorded by the engine.
func init() {
	register(Control{ID: "7.6", Title: "Ensure that the swarm manager auto-lock key is rotated periodically", Section: "Docker Swarm Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine, SourceSwarm},
		Remediation: "Rotate the unlock key on a fixed schedule with docker swarm unlock-key --rotate and record each rotation.",
		Check:       checkSwarmUnlockKeyRotation})
}

func checkSwarmUnlockKeyRotation(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw, ok := swarmManagerForBench(s)
	if !ok {
		return Result{Status: Info, Evidence: []string{notManagerEvidenceForBench}}
	}
	if !sw.Spec.EncryptionConfig.AutoLockManagers {
		return Result{Status: Info, Evidence: []string{"auto-lock is off (see 7.5): there is no unlock key to rotate"}}
	}
	return Result{Status: Info, Evidence: []string{"auto-lock is on; the engine does not record when the unlock key was last rotated: check your rotation records (docker swarm unlock-key --rotate)"}}
}
