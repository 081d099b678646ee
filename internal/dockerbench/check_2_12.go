package dockerbench

import "strings"

// 2.12 Ensure that authorization for Docker client commands is enabled (Automated, Level 2).
// Rationale: without an authorization plugin every API client can do
// everything. Audit: Info.Plugins.Authorization is not empty (the engine's
// view), else the authorization-plugins daemon option.
func init() {
	register(Control{ID: "2.12", Title: "Ensure that authorization for Docker client commands is enabled", Section: "Docker Daemon Configuration", Level: 2, Automated: true,
		Remediation: `Install an authorization plugin, write its policy, and enable it with "authorization-plugins": ["<plugin>"] in /etc/docker/daemon.json (or dockerd --authorization-plugin=<plugin>).`,
		Check:       checkDaemonAuthzPlugin})
}

func checkDaemonAuthzPlugin(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	if s.Info != nil {
		if p := s.Info.Plugins.Authorization; len(p) > 0 {
			return Result{Status: Pass, Evidence: []string{"Info.Plugins.Authorization: " + strings.Join(p, ", ")}}
		}
		return Result{Status: Fail, Evidence: []string{"Info.Plugins.Authorization is empty: no authorization plugin is enabled"}}
	}
	if !hostSourceOK(s, SourceDaemon) {
		return hostUnavailable(s, SourceEngine, SourceDaemon)
	}
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	if vals, ok := hostOpt(s, "authorization-plugins"); ok {
		ev := make([]string, 0, len(vals))
		for _, v := range vals {
			ev = append(ev, hostOptItemEvidence(s, "authorization-plugins", v))
		}
		return Result{Status: Pass, Evidence: ev}
	}
	return Result{Status: Fail, Evidence: []string{hostOptNotSet(s, "authorization-plugins", "")}}
}
