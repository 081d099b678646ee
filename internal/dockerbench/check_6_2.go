package dockerbench

import "fmt"

// 6.2 Ensure that container sprawl is avoided (Manual, Level 1).
// Stopped containers keep their filesystems, configuration and sometimes
// secrets on the host. Audit: all containers against running ones.
func init() {
	register(Control{ID: "6.2", Title: "Ensure that container sprawl is avoided", Section: "Docker Security Operations", Level: 1, Automated: false,
		Needs:       []string{SourceContainers},
		Remediation: "Review the container inventory regularly and remove containers that are no longer used (docker container prune, after checking the list).",
		Check:       checkContainerSprawl})
}

func checkContainerSprawl(s *Snapshot) Result {
	running := len(runningContainersForBench(s))
	ev := []string{fmt.Sprintf("%d containers, %d running, %d not running", len(s.Containers), running, len(s.Containers)-running)}
	for _, c := range s.Containers {
		if c.State != nil && c.State.Running {
			continue
		}
		st := "unknown"
		if c.State != nil && c.State.Status != "" {
			st = string(c.State.Status)
		}
		ev = append(ev, fmt.Sprintf("container %s: %s", containerLabelForBench(c), st))
	}
	return Result{Status: Info, Evidence: ev}
}
