package dockerbench

import (
	"fmt"
	"strings"

	"github.com/moby/moby/api/types/swarm"
)

// 7.2 Ensure that swarm services are bound to a specific host interface (Automated, Level 1).
// By default the swarm management port 2377 listens on every interface,
// so the control plane is reachable from any network the host is on.
// Audit: the address the swarm listens on (docker swarm init/join
// --listen-addr), plus the ports services publish on every node.
func init() {
	register(Control{ID: "7.2", Title: "Ensure that swarm services are bound to a specific host interface", Section: "Docker Swarm Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine},
		Remediation: "Initialise or join the swarm with --listen-addr set to the address of the management interface (not 0.0.0.0), and publish service ports only where needed.",
		Check:       checkSwarmListenAddr})
}

// Differs from docker-bench-security: it decides from `ss -lnt` whether
// port 2377 listens on a wildcard address. The Engine API does not expose
// the swarm listen address and the snapshot has no socket table, so we
// cannot decide: Warn with the node address and, for context, the service
// ports published through the routing mesh (swarm cannot bind those to a
// host interface at all).
func checkSwarmListenAddr(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	ev := []string{"the swarm listen address is not reported by the Engine API: check that `ss -lnt` shows port 2377 bound to a specific address, not 0.0.0.0, [::] or *"}
	if a := s.Info.Swarm.NodeAddr; a != "" {
		ev = append(ev, fmt.Sprintf("node address (advertised): %s", a))
	}
	for _, svc := range s.SwarmServices {
		ports := svc.Endpoint.Ports
		if len(ports) == 0 && svc.Spec.EndpointSpec != nil {
			ports = svc.Spec.EndpointSpec.Ports
		}
		for _, p := range ports {
			if p.PublishedPort == 0 {
				continue
			}
			mode := p.PublishMode
			if mode == "" {
				mode = swarm.PortConfigPublishModeIngress
			}
			proto := strings.ToLower(string(p.Protocol))
			if proto == "" {
				proto = "tcp"
			}
			where := "on every interface of every node (routing mesh)"
			if mode == swarm.PortConfigPublishModeHost {
				where = "on every interface of the nodes running its tasks"
			}
			ev = append(ev, fmt.Sprintf("service %s: port %d->%d/%s published in %s mode %s", svc.Spec.Name, p.PublishedPort, p.TargetPort, proto, mode, where))
		}
	}
	return Result{Status: Warn, Evidence: ev}
}
