package dockerbench

import (
	"fmt"
	"strings"
)

// 2.7 Ensure TLS authentication for Docker daemon is configured (Automated, Level 1).
// Rationale: anyone who reaches an unauthenticated TCP socket is root on
// the host. Audit: when the hosts option (-H) has a TCP listener, tlsverify
// must be on with tlscacert, tlscert and tlskey set; not applicable when
// dockerd listens on unix sockets / fd:// only.
// Differs from docker-bench-security: it passes on tlsverify alone; CIS's
// audit also wants the three certificate options, so with tlsverify but an
// option unset (dockerd then falls back to ~/.docker/*.pem) we Warn.
func init() {
	register(Control{ID: "2.7", Title: "Ensure TLS authentication for Docker daemon is configured", Section: "Docker Daemon Configuration", Level: 1, Automated: true,
		Needs:       []string{SourceDaemon},
		Remediation: `Stop listening on TCP if remote access isn't needed (use SSH: DOCKER_HOST=ssh://host); otherwise set "tlsverify": true with "tlscacert", "tlscert" and "tlskey" in /etc/docker/daemon.json and give clients certificates signed by that CA.`,
		Check:       checkDaemonTLS})
}

// hostTCPListeners are the hosts dockerd listens on over the network:
// anything but unix://, fd:// and npipe:// (a bare host:port is TCP).
func hostTCPListeners(s *Snapshot) []string {
	vals, _ := hostOpt(s, "hosts")
	var out []string
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		scheme, _, hasScheme := strings.Cut(v, "://")
		switch strings.ToLower(scheme) {
		case "unix", "fd", "npipe":
			if hasScheme {
				continue
			}
		}
		out = append(out, v)
	}
	return out
}

func checkDaemonTLS(s *Snapshot) Result {
	if res, ok := hostDaemonGate(s); !ok {
		return res
	}
	tcp := hostTCPListeners(s)
	if len(tcp) == 0 {
		if vals, ok := hostOpt(s, "hosts"); ok {
			return Result{Status: NotApplicable, Evidence: []string{"dockerd does not listen on TCP (hosts: " + strings.Join(vals, ", ") + ")"}}
		}
		return Result{Status: NotApplicable, Evidence: []string{"dockerd does not listen on TCP (hosts not set: default unix socket)"}}
	}
	verify, vset := hostOptBool(s, "tlsverify")
	tls, tset := hostOptBool(s, "tls")
	var fails []string
	switch {
	case vset && verify:
		var missing []string
		var set []string
		for _, opt := range []string{"tlscacert", "tlscert", "tlskey"} {
			if v, ok := hostOptLast(s, opt); ok && v != "" {
				set = append(set, opt+"="+v)
			} else {
				missing = append(missing, fmt.Sprintf("%q not set: dockerd falls back to %s/%s; set it explicitly", opt, filesDefaultCertPath, filesTLSDefaults[opt]))
			}
		}
		if len(missing) > 0 {
			return Result{Status: Warn, Evidence: missing}
		}
		ev := make([]string, 0, len(tcp))
		for _, h := range tcp {
			ev = append(ev, fmt.Sprintf("dockerd listens on %s with tlsverify (%s)", h, strings.Join(set, ", ")))
		}
		return Result{Status: Pass, Evidence: ev}
	case tset && tls:
		for _, h := range tcp {
			fails = append(fails, fmt.Sprintf("dockerd listens on %s with TLS but without client certificate verification (tlsverify not set)", h))
		}
	default:
		for _, h := range tcp {
			fails = append(fails, fmt.Sprintf("dockerd listens on %s without TLS", h))
		}
	}
	return Result{Status: Fail, Evidence: fails}
}
