package dockerbench

import "github.com/moby/moby/api/types/swarm"

// 2.15 Ensure live restore is enabled (Automated, Level 1).
// Rationale: with live restore, containers keep running while dockerd is
// restarted or upgraded, so patching the daemon costs no downtime. Audit:
// Info.LiveRestoreEnabled; not applicable on an active swarm node.
// Differs from docker-bench-security: on an active swarm node it reports
// PASS "(Incompatible with swarm mode)"; we say not applicable.
func init() {
	register(Control{ID: "2.15", Title: "Ensure live restore is enabled", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: `Set "live-restore": true in /etc/docker/daemon.json (or dockerd --live-restore) and reload dockerd (SIGHUP or systemctl reload docker).`,
		Check:       checkDaemonLiveRestore})
}

func checkDaemonLiveRestore(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"engine info not collected"}}
	}
	switch {
	case s.Info.LiveRestoreEnabled:
		return Result{Status: Pass, Evidence: []string{"Info.LiveRestoreEnabled=true"}}
	case s.Info.Swarm.LocalNodeState == swarm.LocalNodeStateActive:
		return Result{Status: NotApplicable, Evidence: []string{"swarm mode is active (Info.Swarm.LocalNodeState=active): live restore does not apply to swarm services"}}
	}
	return Result{Status: Fail, Evidence: []string{"Info.LiveRestoreEnabled=false"}}
}
