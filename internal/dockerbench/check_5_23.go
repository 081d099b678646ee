package dockerbench

import "fmt"

// 5.23 Ensure that docker exec commands are not used with the privileged option (Automated, Level 2).
// docker exec --privileged gives the new process every capability and no
// confinement, whatever the container was started with. Audit: only the
// audit log of docker exec calls can tell; the engine keeps no history.
func init() {
	register(Control{ID: "5.23", Title: "Ensure that docker exec commands are not used with the privileged option", Section: "Container Runtime", Level: 2, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Do not use docker exec --privileged; if a container needs more privileges, start it with exactly the capabilities it requires. Audit docker exec calls (auditd rules on the docker binary, or an authorization plugin).",
		Check:       checkExecPrivileged})
}

// Differs from docker-bench-security: it prints a NOTE without a verdict
// (CIS audits the auditd log). We cannot see past exec sessions either, so
// we Warn with what to look at, naming containers with open exec sessions.
func checkExecPrivileged(s *Snapshot) Result {
	cs := ctrRunning(s)
	if len(cs) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	ev := []string{"cannot be decided from the engine: it keeps no history of docker exec options; search the audit log, e.g. `ausearch -k docker | grep exec | grep privileged`"}
	for _, c := range cs {
		if n := len(c.ExecIDs); n > 0 {
			ev = append(ev, fmt.Sprintf("container %s: %d exec session(s) open (ExecIDs)", ctrName(c), n))
		}
	}
	return Result{Status: Warn, Evidence: ev}
}
