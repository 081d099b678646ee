package dockerbench

import "fmt"

// 7.3 Ensure that all Docker swarm overlay networks are encrypted (Automated, Level 1).
// Unencrypted overlay traffic between nodes (VXLAN) can be read and forged
// on the wire. Audit: every network with driver "overlay" has the
// "encrypted" option.
func init() {
	register(Control{ID: "7.3", Title: "Ensure that all Docker swarm overlay networks are encrypted", Section: "Docker Swarm Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceEngine, SourceNetworks},
		Remediation: "Create overlay networks with --opt encrypted (recreate existing ones, the option cannot be added later); the ingress network can be recreated the same way.",
		Check:       checkOverlayEncrypted})
}

// Like docker-bench-security (and the overlay driver), the presence of the
// "encrypted" option turns encryption on whatever its value, and the
// ingress network counts too.
func checkOverlayEncrypted(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	var ev []string
	overlays := 0
	for _, n := range s.Networks {
		if n.Driver != "overlay" {
			continue
		}
		overlays++
		if _, ok := n.Options["encrypted"]; ok {
			continue
		}
		ev = append(ev, fmt.Sprintf("network %s (%s): overlay without the \"encrypted\" option", n.Name, n.Scope))
	}
	if len(ev) > 0 {
		return Result{Status: Fail, Evidence: ev}
	}
	if overlays == 0 {
		return Result{Status: Pass, Evidence: []string{"no overlay networks"}}
	}
	return Result{Status: Pass}
}
