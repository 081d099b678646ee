package dockerbench

import "strings"

// 2.8 Ensure the default ulimit is configured appropriately (Manual, Level 1).
// Rationale: default ulimits bound what one container can take (files,
// processes) when it sets none itself. Audit: manual; we show the
// default-ulimits option for review.
func init() {
	register(Control{ID: "2.8", Title: "Ensure the default ulimit is configured appropriately", Section: "Docker Daemon Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceDaemon},
		Remediation: `Set "default-ulimits" in /etc/docker/daemon.json (or dockerd --default-ulimit nofile=1024:4096 --default-ulimit nproc=1024:2048) to limits that fit your workloads.`,
		Check:       checkDaemonDefaultUlimits})
}

func checkDaemonDefaultUlimits(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	vals, ok := hostOpt(s, "default-ulimits")
	if !ok {
		return Result{Status: Info, Evidence: []string{hostOptNotSet(s, "default-ulimits", "") + ": containers inherit dockerd's own limits"}}
	}
	ev := make([]string, 0, len(vals))
	for _, v := range vals {
		ev = append(ev, hostOptItemEvidence(s, "default-ulimits", strings.TrimSpace(v)))
	}
	return Result{Status: Info, Evidence: ev}
}
