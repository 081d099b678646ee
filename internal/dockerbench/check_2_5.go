package dockerbench

import (
	"fmt"
	"net/netip"
	"sort"
)

// 2.5 Ensure insecure registries are not used (Automated, Level 1).
// Rationale: an insecure registry is reached over plain HTTP or unverified
// TLS, so images can be read or swapped in transit. Audit: the engine's
// registry configuration (Info.RegistryConfig: InsecureRegistryCIDRs beyond
// the built-in loopback ones, IndexConfigs with Secure=false), else the
// insecure-registries daemon option.
// Differs from docker-bench-security: it fails any configured
// insecure-registries entry, including an explicit loopback one; we ignore
// the loopback ranges dockerd always trusts anyway.
func init() {
	register(Control{ID: "2.5", Title: "Ensure insecure registries are not used", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Remediation: `Remove "insecure-registries" from /etc/docker/daemon.json and --insecure-registry from the dockerd command line; give each private registry a certificate from a CA the host trusts (/etc/docker/certs.d/<registry>/ca.crt).`,
		Check:       checkDaemonInsecureRegistries})
}

// hostLoopbackInsecure are the ranges dockerd marks insecure by itself.
var hostLoopbackInsecure = map[string]bool{"127.0.0.0/8": true, "::1/128": true}

func checkDaemonInsecureRegistries(s *Snapshot) Result {
	if s == nil {
		return Result{Status: Warn, Evidence: []string{"no snapshot"}}
	}
	if s.Info != nil && s.Info.RegistryConfig != nil {
		rc := s.Info.RegistryConfig
		var fails []string
		for _, p := range rc.InsecureRegistryCIDRs {
			if !hostLoopbackInsecure[p.Masked().String()] {
				fails = append(fails, "Info.RegistryConfig.InsecureRegistryCIDRs: "+p.String())
			}
		}
		names := make([]string, 0, len(rc.IndexConfigs))
		for name, ic := range rc.IndexConfigs {
			if ic != nil && !ic.Secure {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			fails = append(fails, fmt.Sprintf("Info.RegistryConfig.IndexConfigs[%q].Secure=false", n))
		}
		if len(fails) > 0 {
			return Result{Status: Fail, Evidence: fails}
		}
		return Result{Status: Pass, Evidence: []string{"no insecure registries besides loopback (Info.RegistryConfig)"}}
	}
	if !hostSourceOK(s, SourceDaemon) {
		return hostUnavailable(s, SourceEngine, SourceDaemon)
	}
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	vals, _ := hostOpt(s, "insecure-registries")
	var fails []string
	for _, v := range vals {
		if p, err := netip.ParsePrefix(v); err == nil && hostLoopbackInsecure[p.Masked().String()] {
			continue
		}
		if v != "" {
			fails = append(fails, hostOptItemEvidence(s, "insecure-registries", v))
		}
	}
	if len(fails) > 0 {
		return Result{Status: Fail, Evidence: fails}
	}
	return Result{Status: Pass, Evidence: []string{hostOptNotSet(s, "insecure-registries", "")}}
}
