package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/swarm"
)

// 5.15 Ensure that the 'on-failure' container restart policy is set to '5' (Automated, Level 1).
// Endless restarts of a failing container can hide an attack or exhaust the
// host; on-failure with at most 5 retries bounds them. Audit:
// HostConfig.RestartPolicy of each running container (for swarm tasks, the
// service's RestartPolicy).
func init() {
	register(Control{ID: "5.15", Title: "Ensure that the 'on-failure' container restart policy is set to '5'", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Use --restart on-failure:5 (or fewer retries), or no restart policy, instead of always, unless-stopped or unbounded on-failure; for swarm services set --restart-max-attempts 5.",
		Check:       checkRestartPolicy})
}

// Differs from docker-bench-security: it only compares MaximumRetryCount
// with 5, so "always" and "unless-stopped" (count 0) pass, and so does
// on-failure without a count (unlimited). Following the CIS audit text we
// fail always and unless-stopped, and on-failure with 0 (unlimited) or more
// than 5 retries; "no" passes.
func checkRestartPolicy(s *Snapshot) Result {
	return ctrEach(s, func(c container.InspectResponse, hc *container.HostConfig) []string {
		if svc, ok := ctrSwarmService(s, c); ok {
			rp := svc.Spec.TaskTemplate.RestartPolicy
			switch {
			case rp != nil && rp.Condition == swarm.RestartPolicyConditionNone:
				return nil
			case rp == nil || rp.MaxAttempts == nil || *rp.MaxAttempts == 0:
				return []string{fmt.Sprintf("swarm service %s: TaskTemplate.RestartPolicy.MaxAttempts unset (unlimited restarts)", svc.Spec.Name)}
			case *rp.MaxAttempts > 5:
				return []string{fmt.Sprintf("swarm service %s: TaskTemplate.RestartPolicy.MaxAttempts=%d (more than 5)", svc.Spec.Name, *rp.MaxAttempts)}
			}
			return nil
		}
		rp := hc.RestartPolicy
		switch rp.Name {
		case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
			return []string{fmt.Sprintf("HostConfig.RestartPolicy.Name=%s (restarts without limit)", rp.Name)}
		case container.RestartPolicyOnFailure:
			if rp.MaximumRetryCount == 0 {
				return []string{"HostConfig.RestartPolicy=on-failure with MaximumRetryCount=0 (unlimited retries)"}
			}
			if rp.MaximumRetryCount > 5 {
				return []string{fmt.Sprintf("HostConfig.RestartPolicy=on-failure with MaximumRetryCount=%d (more than 5)", rp.MaximumRetryCount)}
			}
		}
		return nil
	})
}

// ctrSwarmService finds the swarm service a task container belongs to, by
// its com.docker.swarm.service.id label.
func ctrSwarmService(s *Snapshot, c container.InspectResponse) (swarm.Service, bool) {
	if c.Config == nil || s == nil {
		return swarm.Service{}, false
	}
	id := c.Config.Labels["com.docker.swarm.service.id"]
	if id == "" {
		return swarm.Service{}, false
	}
	for _, svc := range s.SwarmServices {
		if svc.ID == id {
			return svc, true
		}
	}
	return swarm.Service{}, false
}
