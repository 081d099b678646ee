package dockerbench

// 7.5 Ensure that swarm manager is run in auto-lock mode (Automated, Level 1).
// Without auto-lock the keys that decrypt the Raft logs (and the swarm
// secrets in them) sit on the manager's disk. Audit: the cluster's
// Spec.EncryptionConfig.AutoLockManagers.
func init() {
	register(Control{ID: "7.5", Title: "Ensure that swarm manager is run in auto-lock mode", Section: "Docker Swarm Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine, SourceSwarm},
		Remediation: "Turn on auto-lock with docker swarm update --autolock=true (or docker swarm init --autolock) and keep the unlock key in a safe place.",
		Check:       checkSwarmAutoLock})
}

// Like docker-bench-security (whose `docker swarm unlock-key` fails on a
// worker), a worker cannot tell: Warn.
func checkSwarmAutoLock(s *Snapshot) Result {
	if s.Info != nil && s.Info.Swarm.LocalNodeState == "locked" {
		return Result{Status: Pass, Evidence: []string{"swarm node is locked, so auto-lock is on"}}
	}
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw, ok := swarmManagerForBench(s)
	if !ok {
		return Result{Status: Warn, Evidence: []string{notManagerEvidenceForBench}}
	}
	if !sw.Spec.EncryptionConfig.AutoLockManagers {
		return Result{Status: Fail, Evidence: []string{"swarm: Spec.EncryptionConfig.AutoLockManagers=false"}}
	}
	return Result{Status: Pass}
}
