package dockerbench

import (
	"fmt"
	"sort"
	"strings"
)

// 7.4 Ensure that Docker's secret management commands are used for managing secrets in a swarm cluster (Manual, Level 1).
// Swarm secrets are encrypted at rest and in transit and only reach the
// tasks that need them; environment variables are not. Audit: services
// that use swarm secrets, and services that pass secret-like environment
// variables (names only).
func init() {
	register(Control{ID: "7.4", Title: "Ensure that Docker's secret management commands are used for managing secrets in a swarm cluster", Section: "Docker Swarm Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine, SourceSwarm},
		Remediation: "Store credentials with docker secret create and attach them to services with --secret instead of environment variables or files baked into images.",
		Check:       checkSwarmSecrets})
}

func checkSwarmSecrets(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	if _, ok := swarmManagerForBench(s); !ok && len(s.SwarmServices) == 0 {
		return Result{Status: Info, Evidence: []string{notManagerEvidenceForBench}}
	}
	var ev []string
	with := 0
	for _, svc := range s.SwarmServices {
		cs := svc.Spec.TaskTemplate.ContainerSpec
		if cs == nil {
			continue
		}
		if len(cs.Secrets) > 0 {
			with++
		}
		var names []string
		for _, kv := range cs.Env {
			k, _, _ := strings.Cut(kv, "=")
			if secretNameRE.MatchString(k) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		if len(names) > 0 {
			ev = append(ev, fmt.Sprintf("service %s: secret-like environment variables %s (use docker secrets instead)", svc.Spec.Name, strings.Join(names, ", ")))
		}
	}
	ev = append([]string{fmt.Sprintf("%d services, %d use swarm secrets", len(s.SwarmServices), with)}, ev...)
	return Result{Status: Info, Evidence: ev}
}
