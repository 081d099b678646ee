package dockerbench

import "strings"

// 2.11 Ensure base device size is not changed until needed (Automated, Level 2).
// Rationale: a larger devicemapper base device lets one container fill the
// pool. Audit: no dm.basesize in the storage-opts option.
func init() {
	register(Control{ID: "2.11", Title: "Ensure base device size is not changed until needed", Section: "Docker Daemon Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Remove dm.basesize from "storage-opts" in /etc/docker/daemon.json (or --storage-opt dm.basesize=… from the dockerd command line) unless a workload needs a larger base device.`,
		Check:       checkDaemonBaseDeviceSize})
}

func checkDaemonBaseDeviceSize(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	vals, _ := hostOpt(s, "storage-opts")
	var fails []string
	for _, v := range vals {
		if k, _, _ := strings.Cut(strings.TrimSpace(v), "="); strings.EqualFold(strings.TrimSpace(k), "dm.basesize") {
			fails = append(fails, hostOptItemEvidence(s, "storage-opts", strings.TrimSpace(v)))
		}
	}
	if len(fails) > 0 {
		return Result{Status: Fail, Evidence: fails}
	}
	if len(vals) == 0 {
		return Result{Status: Pass, Evidence: []string{hostOptNotSet(s, "storage-opts", "")}}
	}
	return Result{Status: Pass, Evidence: []string{"no dm.basesize in storage-opts (" + strings.Join(vals, ", ") + ")"}}
}
