package dockerbench

import "github.com/moby/moby/api/types/container"

// 5.27 Ensure that container health is checked at runtime (Automated, Level 1).
// Without a health check a hung or compromised service keeps running
// unnoticed. Audit: State.Health of each running container (absent when
// neither the image nor docker run set a HEALTHCHECK).
func init() {
	register(Control{ID: "5.27", Title: "Ensure that container health is checked at runtime", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Give containers a health check: HEALTHCHECK in the Dockerfile, or --health-cmd (with --health-interval) on docker run.",
		Check:       checkHealthCheck})
}

func checkHealthCheck(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, _ *container.HostConfig) []string {
		if c.State == nil || c.State.Health == nil || c.State.Health.Status == container.NoHealthcheck {
			return []string{"no health check (State.Health absent)"}
		}
		return nil
	})
}
