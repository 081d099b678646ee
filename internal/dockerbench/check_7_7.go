package dockerbench

import (
	"fmt"
	"time"
)

// 7.7 Ensure that node certificates are rotated as appropriate (Manual, Level 1).
// Short-lived node certificates limit how long a stolen one is useful.
// Audit: the cluster's Spec.CAConfig.NodeCertExpiry.
func init() {
	register(Control{ID: "7.7", Title: "Ensure that node certificates are rotated as appropriate", Section: "Docker Swarm Configuration", Level: 1, Automated: false,
		Needs:       []string{SourceEngine, SourceSwarm},
		Remediation: "Set a node certificate lifetime that fits your policy with docker swarm update --cert-expiry (for example 48h); nodes renew their certificates automatically.",
		Check:       checkSwarmNodeCertExpiry})
}

// defaultNodeCertExpiryForBench is swarmkit's default (90 days).
const defaultNodeCertExpiryForBench = 90 * 24 * time.Hour

func checkSwarmNodeCertExpiry(s *Snapshot) Result {
	if res, ok := swarmGateForBench(s); !ok {
		return res
	}
	sw, ok := swarmManagerForBench(s)
	if !ok {
		return Result{Status: Info, Evidence: []string{notManagerEvidenceForBench}}
	}
	d := sw.Spec.CAConfig.NodeCertExpiry
	if d <= 0 {
		return Result{Status: Info, Evidence: []string{fmt.Sprintf("swarm: Spec.CAConfig.NodeCertExpiry not set (default %s, 90 days)", defaultNodeCertExpiryForBench)}}
	}
	return Result{Status: Info, Evidence: []string{fmt.Sprintf("swarm: Spec.CAConfig.NodeCertExpiry=%s (%.1f days)", d, d.Hours()/24)}}
}
