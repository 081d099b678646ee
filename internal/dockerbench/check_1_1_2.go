package dockerbench

import "fmt"

// 1.1.2 Ensure only trusted users are allowed to control Docker daemon (Automated, Level 1).
// Rationale: members of the docker group can start privileged containers and
// so are root on the host. Audit: the members of the docker group, listed for
// review (docker-bench reports INFO with the list unless given a trusted-user
// list, which we don't have).
func init() {
	register(Control{ID: "1.1.2", Title: "Ensure only trusted users are allowed to control Docker daemon", Section: "Host Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceGroup},
		Remediation: "Review the docker group and remove anyone who should not have root-equivalent access: gpasswd -d <user> docker.",
		Check:       checkHostDockerGroup})
}

func checkHostDockerGroup(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	if len(s.DockerGroup) == 0 {
		return Result{Status: Pass, Evidence: []string{"docker group has no members"}}
	}
	ev := make([]string, 0, len(s.DockerGroup)+1)
	ev = append(ev, fmt.Sprintf("%d user(s) have root-equivalent access through the docker group: confirm each is trusted", len(s.DockerGroup)))
	for _, u := range s.DockerGroup {
		ev = append(ev, "docker group member: "+u)
	}
	return Result{Status: Warn, Evidence: ev}
}
