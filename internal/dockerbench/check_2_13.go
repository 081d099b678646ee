package dockerbench

// 2.13 Ensure centralized and remote logging is configured (Automated, Level 2).
// Rationale: logs kept only on the host are lost with it and can be altered
// by whoever compromises it. Audit: Info.LoggingDriver is a driver that
// ships logs off the container's host files (syslog, journald, fluentd,
// gelf, awslogs, splunk, a logging plugin…), not json-file.
// Differs from docker-bench-security: it fails json-file only; we also fail
// "local" (also files on this host) and "none" (no logs at all).
func init() {
	register(Control{ID: "2.13", Title: "Ensure centralized and remote logging is configured", Section: "Docker Daemon Configuration", Level: 2, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: `Set "log-driver" (and its "log-opts") in /etc/docker/daemon.json to a driver that forwards to your log collector, e.g. syslog with syslog-address, fluentd or gelf, or journald with the journal forwarded; restart dockerd (existing containers keep their driver until re-created).`,
		Check:       checkDaemonRemoteLogging})
}

// hostLocalLogDrivers keep logs on this host only, or keep none.
var hostLocalLogDrivers = map[string]string{
	"json-file": "logs stay in files on this host",
	"local":     "logs stay in files on this host",
	"none":      "container logs are discarded",
}

func checkDaemonRemoteLogging(s *Snapshot) Result {
	if s == nil || s.Info == nil {
		return Result{Status: Warn, Evidence: []string{"engine info not collected"}}
	}
	d := s.Info.LoggingDriver
	if d == "" {
		return Result{Status: Warn, Evidence: []string{"Info.LoggingDriver is empty"}}
	}
	if why, local := hostLocalLogDrivers[d]; local {
		return Result{Status: Fail, Evidence: []string{"Info.LoggingDriver=" + d + " (" + why + ")"}}
	}
	return Result{Status: Pass, Evidence: []string{"Info.LoggingDriver=" + d}}
}
