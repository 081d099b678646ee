package dockerbench

import "fmt"

// 5.24 Ensure that docker exec commands are not used with the user=root option (Manual, Level 2).
// docker exec --user root bypasses the unprivileged user a container was
// built to run as. Audit: the audit log of docker exec calls, for a human.
func init() {
	register(Control{ID: "5.24", Title: "Ensure that docker exec commands are not used with the user=root option", Section: "Container Runtime", Level: 2, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Do not use docker exec --user root (or --user 0); exec as the container's own unprivileged user.",
		Check:       checkExecUserRoot})
}

func checkExecUserRoot(s *Snapshot) Result {
	cs := ctrRunning(s)
	if len(cs) == 0 {
		return Result{Status: NotApplicable, Evidence: []string{ctrNoRunning}}
	}
	ev := []string{"review docker exec calls in the audit log for --user root / --user 0 (the engine keeps no history of exec options)"}
	for _, c := range cs {
		if n := len(c.ExecIDs); n > 0 {
			ev = append(ev, fmt.Sprintf("container %s: %d exec session(s) open (ExecIDs)", ctrName(c), n))
		}
	}
	return Result{Status: Info, Evidence: ev}
}
