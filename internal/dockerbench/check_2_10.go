package dockerbench

// 2.10 Ensure the default cgroup usage has been confirmed (Automated, Level 2).
// Rationale: a custom cgroup-parent moves every container's resource
// accounting and limits under another slice; that must be deliberate.
// Audit: cgroup-parent unset passes; set, it needs a human to confirm (Warn,
// as docker-bench's "Confirm cgroup usage").
// Differs from docker-bench-security: its daemon.json test (an inverted
// grep for the empty pattern) never matches, so it only sees
// --cgroup-parent; we read both.
func init() {
	register(Control{ID: "2.10", Title: "Ensure the default cgroup usage has been confirmed", Section: "Docker Daemon Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Leave "cgroup-parent" unset unless you need containers under a specific cgroup; if you set it, confirm that cgroup's limits suit every container.`,
		Check:       checkDaemonCgroupParent})
}

func checkDaemonCgroupParent(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	if v, ok := hostOptLast(s, "cgroup-parent"); ok && v != "" {
		return Result{Status: Warn, Evidence: []string{hostOptEvidence(s, "cgroup-parent", v) + ": confirm this cgroup is intended"}}
	}
	dflt := "/docker"
	if s.Info != nil && s.Info.CgroupDriver == "systemd" {
		dflt = "system.slice"
	}
	return Result{Status: Pass, Evidence: []string{hostOptNotSet(s, "cgroup-parent", dflt)}}
}
