package dockerbench

import (
	"fmt"

	"github.com/moby/moby/api/types/container"
)

// 5.12 Ensure that CPU priority is set appropriately on containers (Automated, Level 1).
// Without CPU shares or a CPU limit every container competes equally and a
// busy one can starve the rest. Audit: HostConfig.CpuShares, NanoCpus and
// CpuQuota of each running container.
func init() {
	register(Control{ID: "5.12", Title: "Ensure that CPU priority is set appropriately on containers", Section: "Container Runtime", Level: 1, Automated: true,
		Needs:       []string{SourceContainers},
		Remediation: "Give containers a CPU weight with --cpu-shares (other than the default 1024) or a CPU limit with --cpus, according to their priority.",
		Check:       checkCPUPriority})
}

// Differs from docker-bench-security: it fails only when CpuShares and
// NanoCpus are both 0, so an explicit --cpu-shares 1024 (the default weight)
// passes and a --cpu-quota limit fails. Following the CIS audit text we
// treat 1024 as unset, and accept NanoCpus or CpuQuota as a CPU limit.
func checkCPUPriority(s *Snapshot) Result {
	return ctrEach(s, func(_ container.InspectResponse, hc *container.HostConfig) []string {
		if hc.NanoCPUs > 0 || hc.CPUQuota > 0 {
			return nil
		}
		if hc.CPUShares == 0 || hc.CPUShares == 1024 {
			return []string{fmt.Sprintf("HostConfig.CpuShares=%d (default weight) and no CPU limit (NanoCpus=0, CpuQuota=0)", hc.CPUShares)}
		}
		return nil
	})
}
