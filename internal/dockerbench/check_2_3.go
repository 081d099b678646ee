package dockerbench

import "strings"

// 2.3 Ensure the logging level is set to 'info' (Automated, Level 1).
// Rationale: "info" records what a later investigation needs without the
// volume (and possible secrets) of "debug". Audit: the log-level option
// (unset means info) and debug mode.
// Differs from docker-bench-security: it looks only at log-level; we also
// fail debug mode (--debug / "debug": true / Info.Debug), which makes dockerd
// log at debug level whatever log-level says.
func init() {
	register(Control{ID: "2.3", Title: "Ensure the logging level is set to 'info'", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Remove "log-level" and "debug" from /etc/docker/daemon.json (or set "log-level": "info") and drop --log-level/--debug from the dockerd command line, then restart dockerd.`,
		Check:       checkDaemonLogLevel})
}

func checkDaemonLogLevel(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	var fails []string
	if d, set := hostOptBool(s, "debug"); set && d {
		raw, _ := hostOptLast(s, "debug")
		fails = append(fails, hostOptEvidence(s, "debug", hostBoolText(raw))+" (debug mode logs at debug level)")
	} else if s.Info != nil && s.Info.Debug {
		fails = append(fails, "Info.Debug=true (daemon runs in debug mode)")
	}
	lvl, set := hostOptLast(s, "log-level")
	switch {
	case set && !strings.EqualFold(lvl, "info"):
		fails = append(fails, hostOptEvidence(s, "log-level", lvl))
	case len(fails) > 0:
	case set:
		return Result{Status: Pass, Evidence: []string{hostOptEvidence(s, "log-level", lvl)}}
	default:
		return Result{Status: Pass, Evidence: []string{hostOptNotSet(s, "log-level", "info")}}
	}
	return Result{Status: Fail, Evidence: fails}
}
